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
