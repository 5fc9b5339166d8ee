"""Online signing in the product: the flow around :mod:`signatures`.

* ``subjects``  – what can be signed (covenant, Bijlage 1/2 declaration, Bijlage 4
  consent), who must sign it, and what a signature does in the registry
* ``documents`` – the exact document a signer sees, rendered once and stored
* ``pdf``       – signature page + certificate of completion, and the final assembly
* ``service``   – send, sign, decline, resend, remind, paper, finalize (seal), jobs;
  no Flask
* ``views``     – the public signing pages, ``/verify`` and the staff pages
"""
