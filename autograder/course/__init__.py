"""The course: course.yaml validated, the layer specs derived from it, cases drawn, the reference run."""
