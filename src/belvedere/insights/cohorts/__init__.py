"""Cohorts: saved sets of people, by rule or by list, that any query can filter on.

A cohort's definition (``rules``) lives in the metadata database with the cohort (``models``); its members
live in the event store's ``cohort_members`` table, where the scoping compiler reads them for a ``cohort``
filter. A job (``jobs``) computes the members on the job platform's ``store`` queue — when the cohort is
saved, when asked, and for rule-based cohorts again every ``refresh_hours`` — and replaces them whole."""
