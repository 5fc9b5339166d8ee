"""Signing requests, signer identification, the evidence log and PDF sealing.

Plain Python, no Flask; the web layer calls these modules:

* ``tokens``     – signing-link tokens (stored as SHA-256 only) and expiry
* ``models``     – SigningRequest, SignedDocument, EvidenceEvent/EvidenceHead, OutboxMessage
* ``lifecycle``  – create / open / sign / decline / cancel / expire, raising ``SigningError``
* ``evidence``   – the append-only hash-chained evidence log, ``verify_chain``, erasure
* ``disclosure`` – the versioned text a signer agrees to
* ``keys``       – the service's sealing key and certificate
* ``seal``       – PAdES sealing (B-B, or B-T with a timestamp authority)
* ``verify``     – checking a sealed PDF, with problems in Dutch
* ``mail``       – SMTP with a database outbox as fallback
* ``webhooks``   – webhook subscriptions, events written at the flush (outbox), signed delivery by the worker

Nothing is imported here on purpose: pyHanko is slow to import and most callers
need only one module.
"""
