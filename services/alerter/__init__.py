"""The alerter: consumes incident states, routes them to receivers and delivers notifications exactly once each."""
