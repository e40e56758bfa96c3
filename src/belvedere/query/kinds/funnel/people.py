"""``funnel_people``: who reached a step of a funnel (converted), or reached the step before it and not it
(dropped off), a page at a time, by person id."""

from __future__ import annotations

from sqlglot import exp

from belvedere.query.kinds.funnel.chains import FunnelChains, seconds
from belvedere.query.kinds.funnel.spec import FunnelPeopleQuery, FunnelPeopleResult, FunnelPerson
from belvedere.query.runner import register
from belvedere.query.sql import Params, parse


@register
class FunnelPeopleRunner(FunnelChains[FunnelPeopleQuery]):
    spec_model = FunnelPeopleQuery
    result_model = FunnelPeopleResult

    def _chosen(self, params: Params) -> exp.Select:
        k = self.spec.step
        wanted = f"reached >= {k}" if self.spec.status == "converted" else f"reached = {k - 1}"
        time = f"d{k}" if self.timed and self.spec.status == "converted" and k > 1 else "NULL"
        return (
            exp.select("who", parse(time).as_("d"))
            .from_(self.per_person(params).subquery("p"))
            .where(parse(wanted))
        )

    def _total(self) -> tuple[exp.Select, Params]:
        params = Params()
        return exp.select(parse("count(*)").as_("n")).from_(self._chosen(params).subquery("c")), params

    def _page(self) -> tuple[exp.Select, Params]:
        params = Params()
        tree = self._chosen(params).order_by("who").limit(self.spec.limit).offset(self.spec.offset)
        return tree, params

    def calculate(self) -> FunnelPeopleResult:
        total = int(self.fetch_built("total", self._total)[0][0])
        rows = self.fetch_built("page", self._page) if self.spec.offset < total else []
        return FunnelPeopleResult(
            step=self.spec.step,
            status=self.spec.status,
            total=total,
            people=[FunnelPerson(person_id=str(who), time_to_convert=seconds(d)) for who, d in rows],
        )
