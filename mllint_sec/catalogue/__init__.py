"""The rule catalogue (rules/*.toml) as typed objects: the model, its loading and validation, the argument checks."""
