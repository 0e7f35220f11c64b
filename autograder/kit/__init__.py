"""Code below every stage: shared by authoring, the engine and grading, importing none of them.

Parts of it ship into student notebooks, so it needs nothing but numpy and the standard library."""
