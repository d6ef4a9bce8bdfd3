//! Keyset pagination, written once: a list asks the store for one row more than the page
//! ([`Page::fetch_limit`]); the extra row only tells that there is a next page, whose cursor
//! is the key of the page's last row (a username key, an audit id), never an offset.

/// One page of a list and the cursor of the next page, if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, C> {
    pub items: Vec<T>,
    pub next: Option<C>,
}

impl<T, C> Page<T, C> {
    /// How many rows to ask the store for, for a page of `limit`.
    pub fn fetch_limit(limit: i64) -> i64 {
        limit + 1
    }

    /// The page of `limit` out of `rows` (fetched with [`Page::fetch_limit`]), with the cursor of
    /// its last row when more rows follow.
    pub fn of(mut rows: Vec<T>, limit: i64, cursor: impl Fn(&T) -> C) -> Self {
        let limit = usize::try_from(limit).unwrap_or(0);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more { rows.last().map(cursor) } else { None };
        Self { items: rows, next }
    }

    /// Whether rows follow this page.
    pub fn has_more(&self) -> bool {
        self.next.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::Page;

    #[test]
    fn a_page_holds_limit_rows_and_the_cursor_of_its_last_when_more_follow() {
        let page = Page::of((1..=Page::<i64, i64>::fetch_limit(3)).collect(), 3, |n| *n);
        assert_eq!(page, Page { items: vec![1, 2, 3], next: Some(3) });
        let last = Page::of(vec![4, 5], 3, |n: &i64| *n);
        assert_eq!(last, Page { items: vec![4, 5], next: None });
        assert!(!last.has_more());
    }
}
