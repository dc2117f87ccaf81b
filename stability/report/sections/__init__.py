"""The default study's section builders, one module per section (issue 7, (a)–(f)).

Each builder takes a `stability.report.study.StudyContext` and returns a
`stability.report.study.SectionOutput`, or raises
`stability.report.study.SectionUnavailable` when the layer it reports on has
not landed (or is not wired in yet): the study then omits the section and the
appendix says so. No builder writes a claim or a number it did not compute.
"""
