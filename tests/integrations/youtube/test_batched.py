from integrations.youtube.client import batched


def test_ids_are_split_in_order_into_chunks_of_at_most_50():
    ids = [f"v{n}" for n in range(101)]
    chunks = list(batched(ids))
    assert [len(c) for c in chunks] == [50, 50, 1]
    assert [i for c in chunks for i in c] == ids


def test_duplicates_and_blanks_do_not_cost_an_extra_call():
    ids = ["a", "b", "a", "", "  ", "c"] + [f"v{n}" for n in range(47)]
    chunks = list(batched(ids))
    assert len(chunks) == 1
    assert chunks[0][:3] == ("a", "b", "c")


def test_no_ids_means_no_chunks():
    assert list(batched([])) == []
