//! A service's routes: its slots (versions running side by side, each at an upstream URL) with
//! their traffic weights, and choosing the slot of one request: the slot a header forces (for
//! smoke tests), else the one a sticky cookie names (while it takes traffic), else one by
//! weight. Pure.

use std::fmt;

/// The header that sends a request to a slot by name, whatever the weights (as App Service's
/// `x-ms-routing-name`).
pub const SLOT_HEADER: &str = "x-slipway-slot";

/// The cookie that keeps a client on the slot it was first given.
pub const SLOT_COOKIE: &str = "slipway-slot";

/// One version of a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Its name (`stable`, `canary`, `blue`, `green`): letters, digits, `-`, `_`, `.`.
    pub name: String,
    /// Where it listens: `http://HOST:PORT`, optionally with a path prefix.
    pub upstream: String,
    /// Its share of the traffic, relative to the other slots' (0: only forced requests).
    pub weight: u32,
}

/// A service's slots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routes {
    /// The service's name.
    pub service: String,
    /// Its slots.
    pub slots: Vec<Slot>,
}

/// Why routes were refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoutesError {
    /// A slot's name is empty or has characters a cookie or a metric label cannot hold.
    #[error("slot name '{0}' is not valid: use letters, digits, '-', '_' and '.'")]
    SlotName(String),
    /// Two slots have one name.
    #[error("two slots are named '{0}'")]
    Duplicate(String),
    /// A slot's upstream is not an `http://` URL.
    #[error("slot '{slot}': '{upstream}' is not an upstream the router can reach: give http://HOST:PORT[/PATH]")]
    Upstream {
        /// The slot.
        slot: String,
        /// What was given.
        upstream: String,
    },
}

impl Routes {
    /// Checks the routes.
    ///
    /// # Errors
    /// A [`RoutesError`] for the first slot that is wrong.
    pub fn validate(&self) -> Result<(), RoutesError> {
        for (index, slot) in self.slots.iter().enumerate() {
            let valid = !slot.name.is_empty()
                && slot.name.len() <= 64
                && slot.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !valid {
                return Err(RoutesError::SlotName(slot.name.clone()));
            }
            if self.slots[..index].iter().any(|earlier| earlier.name.eq_ignore_ascii_case(&slot.name)) {
                return Err(RoutesError::Duplicate(slot.name.clone()));
            }
            let upstream = slot.upstream.trim();
            let host = upstream.strip_prefix("http://").unwrap_or_default();
            if host.is_empty() || upstream.parse::<hyper::Uri>().is_err() {
                return Err(RoutesError::Upstream { slot: slot.name.clone(), upstream: slot.upstream.clone() });
            }
        }
        Ok(())
    }

    /// The sum of the weights.
    #[must_use]
    pub fn total_weight(&self) -> u64 {
        self.slots.iter().map(|slot| u64::from(slot.weight)).sum()
    }

    /// The slot named `name` (ignoring case).
    #[must_use]
    pub fn slot(&self, name: &str) -> Option<&Slot> {
        self.position(name).and_then(|index| self.slots.get(index))
    }

    /// Where the slot named `name` (ignoring case) is among the slots.
    #[must_use]
    pub fn position(&self, name: &str) -> Option<usize> {
        self.slots.iter().position(|slot| slot.name.eq_ignore_ascii_case(name))
    }
}

/// Why a request went to its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChosenBy {
    /// The slot header named it.
    Header,
    /// The sticky cookie named it.
    Cookie,
    /// The weights chose it.
    Weight,
}

impl fmt::Display for ChosenBy {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Header => "header",
            Self::Cookie => "cookie",
            Self::Weight => "weight",
        })
    }
}

/// Chooses the slot of a request (its index among the routes' slots): `forced` (the header's value), `sticky` (the cookie's), and
/// `roll` a random number (any `u64`; reduced to the total weight here). `None` when no slot
/// takes traffic (no slot, or every weight 0 and nothing forced), or the forced one does not
/// exist.
#[must_use]
pub fn choose(routes: &Routes, forced: Option<&str>, sticky: Option<&str>, roll: u64) -> Option<(usize, ChosenBy)> {
    if let Some(name) = forced {
        // A slot asked for by name is that slot or none: a smoke test must not land elsewhere.
        return routes.position(name.trim()).map(|index| (index, ChosenBy::Header));
    }
    if let Some(index) =
        sticky.and_then(|name| routes.position(name.trim())).filter(|index| routes.slots[*index].weight > 0)
    {
        return Some((index, ChosenBy::Cookie));
    }
    let total = routes.total_weight();
    if total == 0 {
        return None;
    }
    let mut point = roll % total;
    for (index, slot) in routes.slots.iter().enumerate() {
        let weight = u64::from(slot.weight);
        if point < weight {
            return Some((index, ChosenBy::Weight));
        }
        point -= weight;
    }
    None
}

/// The value of the sticky cookie in `Cookie` header values, if there is one.
#[must_use]
pub fn sticky_cookie<'a>(cookies: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    cookies
        .into_iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SLOT_COOKIE)
        .map(|(_, value)| value.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(weights: &[(&str, u32)]) -> Routes {
        Routes {
            service: "shop".into(),
            slots: weights
                .iter()
                .map(|&(name, weight)| Slot { name: name.into(), upstream: "http://127.0.0.1:1".into(), weight })
                .collect(),
        }
    }

    /// The chosen slot's name and why.
    fn chosen<'a>(
        routes: &'a Routes,
        forced: Option<&str>,
        sticky: Option<&str>,
        roll: u64,
    ) -> Option<(&'a str, ChosenBy)> {
        choose(routes, forced, sticky, roll).map(|(index, by)| (routes.slots[index].name.as_str(), by))
    }

    #[test]
    fn weights_split_the_traffic_and_a_header_or_a_cookie_decide_first() {
        let split = routes(&[("stable", 90), ("canary", 10)]);
        let canary = (0..1000)
            .filter(|roll| chosen(&split, None, None, *roll).is_some_and(|(name, _)| name == "canary"))
            .count();
        assert_eq!(canary, 100);
        assert_eq!(chosen(&split, Some("CANARY"), Some("stable"), 0), Some(("canary", ChosenBy::Header)));
        assert_eq!(chosen(&split, None, Some("canary"), 0), Some(("canary", ChosenBy::Cookie)));
        // A cookie for a slot that takes no traffic (any more) does not keep the client there.
        let promoted = routes(&[("stable", 100), ("canary", 0)]);
        assert_eq!(chosen(&promoted, None, Some("canary"), 7), Some(("stable", ChosenBy::Weight)));
        // A forced slot is served even at weight 0 (smoke tests of a new slot before it takes traffic).
        assert_eq!(chosen(&promoted, Some("canary"), None, 7).map(|(name, _)| name), Some("canary"));
        assert_eq!(choose(&routes(&[("a", 0)]), None, None, 1), None);
        assert_eq!(choose(&routes(&[]), Some("a"), None, 1), None);
    }

    #[test]
    fn the_sticky_cookie_is_found_among_others() {
        assert_eq!(sticky_cookie(["a=1; slipway-slot=canary; b=2"]), Some("canary"));
        assert_eq!(sticky_cookie(["a=1", "slipway-slot= blue "]), Some("blue"));
        assert_eq!(sticky_cookie(["slipway-slotx=1"]), None);
    }

    #[test]
    fn routes_are_checked() {
        let mut bad = routes(&[("stable", 1), ("Stable", 1)]);
        assert_eq!(bad.validate(), Err(RoutesError::Duplicate("Stable".into())));
        bad.slots[1].name = "can ary".into();
        assert_eq!(bad.validate(), Err(RoutesError::SlotName("can ary".into())));
        bad.slots[1].name = "canary".into();
        bad.slots[1].upstream = "https://example.com".into();
        assert!(matches!(bad.validate(), Err(RoutesError::Upstream { .. })));
        bad.slots[1].upstream = "http://127.0.0.1:8080/app".into();
        assert_eq!(bad.validate(), Ok(()));
    }
}
