use fw_filter::{ErrorKind, Order, SortKey, parse_sort};

use crate::sort_parses_to;

fn key(key: &str, order: Order) -> SortKey {
    SortKey {
        key: key.into(),
        order,
    }
}

#[test]
fn sort_items_and_orders() {
    let table = [
        ("label", "label:asc", vec![key("label", Order::Asc)]),
        (
            "label:asc,created:desc",
            "label:asc,created:desc",
            vec![key("label", Order::Asc), key("created", Order::Desc)],
        ),
        (
            "a:1,b:-1",
            "a:asc,b:desc",
            vec![key("a", Order::Asc), key("b", Order::Desc)],
        ),
        (
            "a:ASC,b:Desc",
            "a:asc,b:desc",
            vec![key("a", Order::Asc), key("b", Order::Desc)],
        ),
        (
            "info.x.y:desc",
            "info.x.y:desc",
            vec![key("info.x.y", Order::Desc)],
        ),
    ];
    for (src, canonical, keys) in table {
        assert_eq!(sort_parses_to(src, canonical).keys, keys, "{src}");
    }
}

#[test]
fn sort_errors() {
    let table = [
        ("", ErrorKind::Empty),
        ("label:up", ErrorKind::InvalidSortOrder),
        ("label,,created", ErrorKind::EmptySortKey),
        (":desc", ErrorKind::EmptySortKey),
        ("label:", ErrorKind::InvalidSortOrder),
        ("a:asc:desc", ErrorKind::TrailingInput),
    ];
    for (src, kind) in table {
        assert_eq!(parse_sort(src).unwrap_err().kind(), kind, "{src}");
    }
}

#[test]
fn documents_compare_by_each_key_then_equal() {
    use serde_json::json;
    use std::cmp::Ordering;

    let mut docs = [
        json!({"_id": "c", "n": "x"}),
        json!({"_id": "a", "n": 2}),
        json!({"_id": "b"}),
        json!({"_id": "d", "n": 1}),
        json!({"_id": "e", "n": null}),
        json!({"_id": "f", "n": true}),
        json!({"_id": "g", "n": {"deep": 1}}),
    ];
    let ascending = parse_sort("n:asc").unwrap();
    docs.sort_by(|a, b| ascending.compare(a, b));
    let ids: Vec<&str> = docs.iter().map(|d| d["_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["b", "e", "f", "d", "a", "c", "g"]);

    let two_keys = parse_sort("info.site:desc,age").unwrap();
    let a = json!({"info": {"site": "b"}, "age": 40});
    let b = json!({"info": {"site": "b"}, "age": 30});
    let c = json!({"info": {"site": "a"}, "age": 1});
    assert_eq!(two_keys.compare(&a, &b), Ordering::Greater);
    assert_eq!(two_keys.compare(&c, &a), Ordering::Greater);
    assert_eq!(two_keys.compare(&a, &a.clone()), Ordering::Equal);
    // Paths go through objects only; a list on the way is a missing field.
    let listed = json!({"info": [{"site": "z"}]});
    assert_eq!(two_keys.compare(&listed, &c), Ordering::Greater);
}
