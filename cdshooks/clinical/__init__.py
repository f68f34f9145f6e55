"""Clinical facts derived from the patient record, each computed once per call.

The record holds one fact per FHIR resource; clinicians reason about tumours,
medication products and test results. These modules turn the first into the
second the way the catalogue's revision 2 says EHRs record things: one tumour
recorded twice is one tumour, a metastasis belongs to the primary it is linked to
(or to the only candidate), an ointment is not systemic immunosuppression, a
result inside a panel counts like one standing alone.
"""
