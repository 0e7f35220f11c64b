# Two entry points: `make demo` (generate the course, grade the example class) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install generate benchmark clean

$(BIN)/autograder: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/autograder

generate: install
	$(BIN)/autograder generate

ASSIGNMENTS := computational_graph activations affine_softmax

demo: generate
	@for a in $(ASSIGNMENTS); do \
		echo; echo "== grading $$a"; \
		$(BIN)/autograder grade examples/class --assignment $$a --out grades/$$a || exit 1; \
	done
	@echo
	@echo "Student notebooks: assignments/    Solutions (nbgrader source): solutions/"
	@echo "Per assignment, in grades/<assignment>/: report.html (class report), grades.csv,"
	@echo "canvas.csv, moodle.csv, results.json and feedback/<student>.html"

test: install
	$(BIN)/autograder generate --check
	$(BIN)/python -m pytest -q -n 2

benchmark: install
	$(BIN)/python benchmarks/grade_class.py --submissions 1000

clean:
	rm -rf grades .pytest_cache
