"""keyset.capped_counts: several capped totals read in one query."""

from users.models import Domain

from mailadmin import keyset


def test_each_total_counts_up_to_the_cap_and_says_when_more_match(db, django_assert_num_queries):
    Domain.objects.bulk_create(Domain(name=f"d{n}.example") for n in range(5))
    with django_assert_num_queries(1):
        totals = keyset.capped_counts(
            {
                "all": Domain.objects.all(),
                "three": Domain.objects.filter(name__in=["d0.example", "d1.example", "d2.example"]),
                "none": Domain.objects.filter(name="nowhere.example"),
            },
            cap=3,
        )
    assert totals == {
        "all": keyset.Total(3, capped=True),
        "three": keyset.Total(3, capped=False),
        "none": keyset.Total(0, capped=False),
    }


def test_a_queryset_that_names_nothing_is_zero_without_asking(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        totals = keyset.capped_counts({"empty": Domain.objects.filter(pk__in=[])}, cap=10)
    assert totals == {"empty": keyset.Total(0, capped=False)}
