-- Detector: the state of each merchant in its own row beside the partition's checkpoint row (which keeps the next
-- offset and the state's header), so a batch rewrites only the merchants it touched, in the same transaction as
-- the offset. A partition with 100,000 merchants no longer writes all of them for every batch.
CREATE TABLE detector_merchant_state (
    consumer_group text NOT NULL,
    topic          text NOT NULL,
    partition      integer NOT NULL,
    merchant_id    text NOT NULL,
    state          jsonb NOT NULL,
    PRIMARY KEY (consumer_group, topic, partition, merchant_id)
);
