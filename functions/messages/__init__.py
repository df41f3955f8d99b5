"""WriterQueue and DLQ messages, one module per job.

* :mod:`~functions.messages.codec`: JSON with exact decimals, both ways;
* :mod:`~functions.messages.bodies`: what a body is (record, array, envelope) and where it came from;
* :mod:`~functions.messages.sizing`: a message's size as SQS counts it;
* :mod:`~functions.messages.sqs_text`: text SQS would refuse, escaped;
* :mod:`~functions.messages.failures`: a failure as a message (the verdict in attributes);
* :mod:`~functions.messages.envelopes`: records packed into envelopes, and the attributes that carry their
  ingestion;
* :mod:`~functions.messages.sending`: messages sent in as few ``SendMessageBatch`` calls as the limits allow.

**Pre-failed messages.** The transformer sometimes knows a failure before any record reaches the writer: an
S3 object that cannot be parsed (``UnreadableFile``), or one record too large for a message
(``RecordTooLarge``). It then sends one WriterQueue message whose String message attributes carry the verdict
(:func:`~functions.messages.failures.failure_message`); the body is a small JSON document naming the file, the
position and an excerpt. The writer does not parse such a message: it forwards body and attributes to the DLQ
(adding ``origin_message_id``) and acknowledges it, so the failure is recorded in LogTable by the same path as
every other one. Consequently a re-sent body (``pipeline-ctl replay-dlq``) must not carry ``error_type``, or
the writer would forward it again instead of processing it.
"""
