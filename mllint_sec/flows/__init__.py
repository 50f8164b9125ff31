"""Request-data flows: sources per serving framework, input levels, model sinks, validation, taint tracing,
per-file summaries."""
