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

demo: generate
	$(BIN)/autograder grade examples/class --out grades
	@echo
	@echo "Student notebooks: assignments/   Solutions: solutions/"
	@echo "Grades: grades/grades.csv   Class report: grades/report.html   Feedback: grades/feedback/"

test: install
	$(BIN)/autograder generate --check
	$(BIN)/python -m pytest -q

benchmark: install
	$(BIN)/python benchmarks/grade_class.py --submissions 1000

clean:
	rm -rf grades .pytest_cache
