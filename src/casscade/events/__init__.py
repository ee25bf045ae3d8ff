"""Change events: the unit between the decoder and the sinks (model, mapping, serde)."""
