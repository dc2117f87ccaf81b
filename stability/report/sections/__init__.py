"""The default study's section builders, one module per section (issue 7, (a)–(f)).

Each builder takes a `stability.report.study.StudyContext` and returns a
`stability.report.study.SectionOutput`, or raises
`stability.report.study.SectionUnavailable` when the layer it reports on has
not landed (or is not wired in yet): the study then omits the section and the
appendix says so. No builder writes a claim or a number it did not compute.

The shape of a builder (see `segmentation` for a complete one)::

    def build_spectra_section(ctx):
        from .._context import SectionOutput
        from ...spectra import ...            # the layer, imported here, not at module level

        spec = ctx.recipe.model               # resolved recipe (--quick already applied)
        rng = ctx.rng("spectra")              # this section's own generator
        ...                                   # compute: raw numbers only
        table = Table(columns=(Column("gain", "gain"), Column("lambda1", "λ₁", unit="1/step")),
                      rows=tuple(zip(gains, lambdas)), caption="...")
        figure = Figure(make=lambda: ..., caption="...", alt="...")   # drawn at render time
        finding = Finding(claim="...", verdict=Verdict.SUPPORTED, evidence="...", value=...)
        return SectionOutput(section=Section("...", id="spectra", blocks=(Paragraph("..."), table, figure)),
                             findings=(finding,), summaries=("A sentence built from the numbers.",))

Then point the `SectionPlan` entry of `stability.report.study._plan` at it.
"""
