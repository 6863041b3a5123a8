# The commands a newcomer needs: `make book`, `make test` and `make lab` (see README.md).
# Every target sets up what it needs itself, so each works from a fresh clone.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:

VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
MATHJAX := _assets/mathjax/tex-chtml.js
CHROMIUM := /usr/bin/chromium
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
JB      := AE_BOOK_BUILD=1 $(VENV)/bin/jupyter-book build . --builder html -W --keep-going
LAB     := $(VENV)/bin/jupyter-lab
# Processes that share the tests (pytest-xdist workers): one per core.
WORKERS ?= 2
# One BLAS/torch thread per process: two processes with two threads each on two cores thrash.
ONE_THREAD := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

.PHONY: install book plain test check unit notebooks book-fresh browser student grade gradescope lab pretrain clean

## install: the virtual environment with the pinned versions, and MathJax for offline math
install: $(STAMP) $(MATHJAX)

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

# MathJax 3 from the npm registry, trimmed to what the book uses (served from the build, offline).
$(MATHJAX):
	npm install --prefix .cache/npm --no-audit --no-fund --silent mathjax@3.2.2
	rm -rf _assets/mathjax && mkdir -p _assets/mathjax/output/chtml _assets/mathjax/input/tex
	src=.cache/npm/node_modules/mathjax/es5; \
	cp $$src/tex-chtml.js _assets/mathjax/; \
	cp -r $$src/output/chtml/fonts _assets/mathjax/output/chtml/; \
	cp -r $$src/input/tex/extensions _assets/mathjax/input/tex/; \
	cp -r $$src/ui $$src/a11y _assets/mathjax/

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

## book: build the HTML book into _build/html, executing every notebook (cached between builds),
## then the plain notebooks (notebooks/: commit them with the chapter) that the download button serves
book: install
	$(JB)
	$(PY) tools/plain_notebooks.py

## plain: notebooks/ again from the built book (what `make book` does after building)
plain: install
	$(PY) tools/plain_notebooks.py

## test: every test from scratch, as two jobs side by side (one per core): the tests (`check` in
## one process: unit and exercise tests, every student notebook run top to bottom) and the book
## built with its cache cleared (every chapter runs; an error in any cell fails the build). Then
## the browser test of the built book. Each job's output is printed when it ends.
test: install $(CHROMIUM)
	$(ONE_THREAD) $(MAKE) --no-print-directory -j2 --output-sync=target WORKERS=0 check book-fresh
	$(MAKE) --no-print-directory browser

## check: every test but those that need the built book, shared between $(WORKERS) workers (the
## notebook tests first, see tests/conftest.py), and the student release of the plain notebooks
## run top to bottom under nbval (one notebook per worker)
STUDENT_RUN := _build/student-nbval
check: install
	rm -rf $(STUDENT_RUN)
	$(PY) tools/make_student.py notebooks $(STUDENT_RUN) >/dev/null
	$(ONE_THREAD) $(PY) -m pytest -m "not browser and not built" -n $(WORKERS) --dist loadgroup \
	  --nbval-lax --nbval-current-env tests $(STUDENT_RUN)

## unit: the quick tests: all but those that run whole notebooks and the browser's
unit: install
	$(ONE_THREAD) $(PY) -m pytest -m "not browser and not notebooks and not built" -n $(WORKERS) tests

## notebooks: the chapters under nbval, a quicker check of a chapter than the book build
## (one chapter: `make notebooks NB=chapters/06_pca.ipynb`)
NB ?= chapters
notebooks: install
	$(ONE_THREAD) $(PY) -m pytest -n $(WORKERS) --dist loadfile --nbval-lax --nbval-current-env $(NB)

## book-fresh: the book built with every notebook executed again (its cache cleared first)
book-fresh: install
	rm -rf _build/.jupyter_cache _build/.doctrees _build/html
	start=$$(date +%s); $(JB); echo "book-fresh: built in $$(( $$(date +%s) - start )) s"

## browser: the tests that need the built book: the pages in Chromium, a plain notebook in
## JupyterLab, the plain notebooks in step with the book, no MyST in any notebook a student opens
browser: install $(CHROMIUM)
	$(PY) -m pytest tests -m "browser or built"

## student: student notebooks (solutions replaced by stubs) from notebooks/ into student/; never
## overwrites your edits (a newer version of an edited one goes to student/updates/)
student: install
	$(PY) tools/make_student.py notebooks student

## grade: grade a class: SUBMISSIONS=<dir> (one folder per student, or student/ for your own work)
## into OUT/grades.csv and OUT/feedback/<student>.md, JOBS exercises side by side (README: Grading)
OUT ?= grades
grade: install
	$(ONE_THREAD) $(PY) tools/grade.py $(if $(SUBMISSIONS),"$(SUBMISSIONS)") --out "$(OUT)" $(if $(JOBS),--jobs $(JOBS))

## gradescope: gradescope_autograder.zip, a Gradescope autograder that runs `make grade` on a submission
gradescope: install
	$(PY) tools/gradescope.py build gradescope_autograder.zip

## lab: the student notebooks in JupyterLab (makes them first; installs JupyterLab the first time)
lab: student $(LAB)
	$(LAB) --notebook-dir=student

$(LAB): $(STAMP)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -c constraints.txt jupyterlab

## pretrain: retrain the learned image codecs of the compression chapter into data/ (about 5.2 hours on 2 cores; resumable)
pretrain: install
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) scripts/pretrain_codec.py --jobs 2

## clean: the build and caches; student/ (your work) is kept
clean:
	rm -rf _build .pytest_cache
	@if [ -d student ]; then echo "student/ kept (your work); delete it yourself if you want it gone"; fi
