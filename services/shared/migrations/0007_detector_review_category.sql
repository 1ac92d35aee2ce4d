-- Detector: keep the complaint category beside negativity, polarity and language, so every stored review
-- carries all four classified fields.
ALTER TABLE reviews ADD COLUMN category text;
CREATE INDEX reviews_merchant_category_created ON reviews (merchant_id, category, created_at) WHERE negative;
