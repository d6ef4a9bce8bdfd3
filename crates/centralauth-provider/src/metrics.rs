//! What the provider counts, in the OpenMetrics text format (which Prometheus reads) at `/metrics` on a listener of its
//! own (`metrics_listen`), never on the public one. For now the security events: every event
//! logged with the target `centralauth::security` is counted by its `event` field (a tracing
//! layer), so that whatever logs a failed sign-in, a throttled one or a refused API token counts
//! it by the same line, and the count does not depend on the log level.

use std::sync::OnceLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// The target of the security log (see README, "Security model").
pub const SECURITY_TARGET: &str = "centralauth::security";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    /// One of the few event names the code logs: the label's values are bounded.
    event: String,
}

pub struct Metrics {
    registry: Registry,
    security_events: Family<EventLabels, Counter>,
}

/// The process's counters: the tracing layer and the `/metrics` answer share them.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let mut registry = Registry::default();
        let security_events = Family::<EventLabels, Counter>::default();
        registry.register(
            "centralauth_security_events",
            "Security events by kind: failed and throttled sign-ins, wrong current passwords, refused API tokens, full password-check queues",
            security_events.clone(),
        );
        Metrics { registry, security_events }
    })
}

impl Metrics {
    pub fn count_security_event(&self, event: &str) {
        self.security_events.get_or_create(&EventLabels { event: event.to_string() }).inc();
    }

    /// The OpenMetrics text exposition of every counter.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// Counts the events of the security log by their `event` field.
pub struct SecurityEventCounter;

impl<S: Subscriber> Layer<S> for SecurityEventCounter {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != SECURITY_TARGET {
            return;
        }
        let mut name = EventName(None);
        event.record(&mut name);
        if let Some(name) = name.0 {
            global().count_security_event(&name);
        }
    }
}

struct EventName(Option<String>);

impl Visit for EventName {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "event" {
            self.0 = Some(value.to_string());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "event" {
            self.0 = Some(format!("{value:?}").trim_matches('"').to_string());
        }
    }
}

/// `GET /metrics` on the metrics listener.
pub fn router() -> axum::Router {
    use axum::http::header::CONTENT_TYPE;
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(|| async { ([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], global().encode()) }),
    )
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[test]
    fn security_log_events_are_counted_by_name_and_others_are_not() {
        let subscriber = tracing_subscriber::registry().with(SecurityEventCounter);
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "centralauth::security", event = "unit_test_event", "counted");
            tracing::warn!(target: "centralauth::security", event = "unit_test_event", "counted");
            tracing::warn!(target: "centralauth::other", event = "unit_test_event", "not the security log");
        });
        let text = global().encode();
        assert!(text.contains("centralauth_security_events_total{event=\"unit_test_event\"} 2"), "{text}");
    }
}
