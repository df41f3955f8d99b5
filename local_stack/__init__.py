"""The local stack: moto in server mode, the real handlers behind a Lambda-like dispatcher, and an HTTP
stand-in for API Gateway: the whole pipeline on one machine, with no AWS account and no Docker
(docs/local-stack.md). Installed with the ``local`` extra, which carries moto."""
