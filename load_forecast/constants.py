"""Names load_forecast shares with light modules (no heavy imports here)."""

#: which peak the rules use after connection (forecast_settings.csv ``headroom_rule``)
HEADROOM_RULES = ("conservative", "coincident")
