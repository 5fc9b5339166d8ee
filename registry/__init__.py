"""Domain core: who may join which casustafel, on which date, and why. No Flask here."""
