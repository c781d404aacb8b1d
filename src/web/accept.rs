//! `Accept-*` request headers: lists of items weighted by `q`.

/// The items of an `Accept-Language` or `Accept-Encoding` value with their weights:
/// `gzip;q=0.5` is `("gzip", 0.5)`; an item without a readable `q` weighs 1.
pub(crate) fn weighted(value: &str) -> impl Iterator<Item = (&str, f64)> {
    value.split(',').map(|item| {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f64>().ok())
            .unwrap_or(1.0);
        (name, q)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_carry_their_q_or_one() {
        let items: Vec<_> = weighted("fr-CA, en;q=0.5 ,de; q=0 ;level=1, *;q=x").collect();
        assert_eq!(
            items,
            [("fr-CA", 1.0), ("en", 0.5), ("de", 0.0), ("*", 1.0)]
        );
        let junk: Vec<_> = weighted(";;,q=,;q=").collect();
        assert_eq!(junk, [("", 1.0), ("q=", 1.0), ("", 1.0)]);
    }
}
