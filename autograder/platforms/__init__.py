"""The platforms instructors already run the course on: nbgrader's course folder and gradebook, Gradescope."""
