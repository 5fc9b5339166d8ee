"""The web pages of signing: the public signing pages at a link, ``/verify`` and the
staff pages (``views``). The work itself is Flask-free in :mod:`signatures`:
``subjects`` (what can be signed, who signs, what a signature does in the registry),
``snapshots`` (the exact document a signer sees), ``assembly`` (signature page,
certificate, final PDF), ``workflow`` (send, sign, decline, resend, remind, paper,
seal, jobs), ``verification`` (is this PDF ours) and ``meeting_list`` (the sealed
presentie- en toetsingslijst).
"""
