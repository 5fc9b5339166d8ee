"""Signing requests, signer identification, the evidence log and PDF sealing."""
