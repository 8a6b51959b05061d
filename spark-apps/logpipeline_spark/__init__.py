"""The Spark Structured Streaming application: pure transformations plus a thin entry point."""
