"""The operator library behind pipeline-ctl: boto3 work for send, upload, replay, errors, status and release.

No Typer or rich here: each function returns a report or raises an error of its own (``ops.errors``:
``InvalidInput``, ``OperationError``, ``NotFound``), and only ``cli`` turns those into output and exit codes.
"""
