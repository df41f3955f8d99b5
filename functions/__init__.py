"""Lambda functions of the pipeline: transformer, writer, error handler, and the code they share."""
