//! When to try a request again, and after how long: a pure function of the method, what
//! happened, and the attempt number, so tests call it directly.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Method;

/// How failed requests are retried.
///
/// Retried: statuses 429, 502, 503 and 504, and connections that could not be made or
/// broke, for idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE, PATCH; PATCH because
/// every PATCH of this API sends a full delta that can be applied twice) and for a POST the
/// caller marked safe. Not retried: 500 (the server failed, retrying will not help), read
/// timeouts (the server may still be working), and bodies that cannot be sent again.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 turns retries off.
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles each time.
    pub base_delay: Duration,
    /// The longest wait, for the backoff and for `Retry-After` alike.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 8 attempts, waits of about 1, 2, 4, 8, 16, 32, 60 s: enough to ride out a server
    /// restart during a long Friday-night job.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }
}

/// What became of one attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// The server answered with this status, and this `Retry-After` wait if it sent one.
    Status(u16, Option<Duration>),
    /// No connection could be made, or it broke before an answer came.
    ConnectionFailed,
    /// The connection was made but no answer came in time.
    TimedOut,
}

/// The request, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attempt<'a> {
    /// Its method.
    pub method: &'a Method,
    /// The caller said a POST may be sent twice.
    pub post_is_safe: bool,
    /// The body can be sent again (bytes, or a file that can be reopened).
    pub replayable: bool,
    /// Which attempt just ended, from 1.
    pub number: u32,
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// Return the outcome to the caller.
    GiveUp,
}

impl RetryPolicy {
    /// Decides what to do after `attempt` ended in `outcome`. `jitter`, in `[0, 1)`,
    /// spreads the wait over `[backoff / 2, backoff]` so that many clients do not retry in
    /// step; a server's `Retry-After` is honoured as given (up to `max_delay`).
    pub fn decide(&self, attempt: Attempt<'_>, outcome: Outcome, jitter: f64) -> Decision {
        let retryable_outcome = match outcome {
            Outcome::Status(status, _) => matches!(status, 429 | 502 | 503 | 504),
            Outcome::ConnectionFailed => true,
            Outcome::TimedOut => false,
        };
        let retryable_method = match *attempt.method {
            Method::GET
            | Method::HEAD
            | Method::OPTIONS
            | Method::PUT
            | Method::DELETE
            | Method::PATCH => true,
            Method::POST => attempt.post_is_safe,
            _ => false,
        };
        if !retryable_outcome
            || !retryable_method
            || !attempt.replayable
            || attempt.number >= self.max_attempts
        {
            return Decision::GiveUp;
        }
        if let Outcome::Status(_, Some(wait)) = outcome {
            return Decision::RetryAfter(wait.min(self.max_delay));
        }
        Decision::RetryAfter(self.backoff(attempt.number, jitter))
    }

    /// The wait after attempt `number` (from 1): `base · 2^(number-1)`, capped, then
    /// jittered into its upper half.
    pub fn backoff(&self, number: u32, jitter: f64) -> Duration {
        let exponent = number.saturating_sub(1).min(30);
        let full = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

/// Reads a `Retry-After` header: seconds (`120`) or an HTTP date
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), relative to `now`. A date in the past means now.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (when.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(method: &Method, number: u32) -> Attempt<'_> {
        Attempt {
            method,
            post_is_safe: false,
            replayable: true,
            number,
        }
    }

    #[test]
    fn every_status_and_method() {
        let policy = RetryPolicy::default();
        let methods = [
            (Method::GET, true),
            (Method::HEAD, true),
            (Method::OPTIONS, true),
            (Method::PUT, true),
            (Method::DELETE, true),
            (Method::PATCH, true),
            (Method::POST, false),
            (Method::TRACE, false),
        ];
        for (method, idempotent) in &methods {
            for status in [
                200, 201, 302, 400, 401, 403, 404, 409, 422, 429, 500, 501, 502, 503, 504,
            ] {
                let retried = matches!(
                    policy.decide(attempt(method, 1), Outcome::Status(status, None), 0.0),
                    Decision::RetryAfter(_)
                );
                let expected = *idempotent && matches!(status, 429 | 502 | 503 | 504);
                assert_eq!(retried, expected, "{method} {status}");
            }
            let retried = policy.decide(attempt(method, 1), Outcome::ConnectionFailed, 0.0)
                != Decision::GiveUp;
            assert_eq!(retried, *idempotent, "{method} connection failure");
            assert_eq!(
                policy.decide(attempt(method, 1), Outcome::TimedOut, 0.0),
                Decision::GiveUp
            );
        }
    }

    #[test]
    fn post_only_when_marked_safe_and_streams_only_when_replayable() {
        let policy = RetryPolicy::default();
        let safe_post = Attempt {
            post_is_safe: true,
            ..attempt(&Method::POST, 1)
        };
        assert_ne!(
            policy.decide(safe_post, Outcome::Status(503, None), 0.0),
            Decision::GiveUp
        );
        let stream = Attempt {
            replayable: false,
            ..attempt(&Method::PUT, 1)
        };
        assert_eq!(
            policy.decide(stream, Outcome::Status(503, None), 0.0),
            Decision::GiveUp
        );
    }

    #[test]
    fn attempts_are_bounded_and_can_be_switched_off() {
        let policy = RetryPolicy::default();
        let get = Method::GET;
        assert_ne!(
            policy.decide(attempt(&get, 7), Outcome::Status(503, None), 0.0),
            Decision::GiveUp
        );
        assert_eq!(
            policy.decide(attempt(&get, 8), Outcome::Status(503, None), 0.0),
            Decision::GiveUp
        );
        assert_eq!(
            RetryPolicy::none().decide(attempt(&get, 1), Outcome::Status(503, None), 0.0),
            Decision::GiveUp
        );
    }

    #[test]
    fn backoff_doubles_within_jitter_bounds_and_is_capped() {
        let policy = RetryPolicy::default();
        for number in 1..=12u32 {
            let full = Duration::from_secs(1 << (number - 1).min(20)).min(Duration::from_secs(60));
            assert_eq!(
                policy.backoff(number, 0.0),
                full / 2,
                "attempt {number}, no jitter"
            );
            assert_eq!(
                policy.backoff(number, 1.0),
                full,
                "attempt {number}, most jitter"
            );
            let middle = policy.backoff(number, 0.5);
            assert!(middle > full / 2 && middle < full, "attempt {number}");
        }
        assert_eq!(policy.backoff(u32::MAX, 1.0), Duration::from_secs(60));
    }

    #[test]
    fn retry_after_overrides_the_backoff_up_to_the_cap() {
        let policy = RetryPolicy::default();
        let get = Method::GET;
        let wait = |secs| {
            policy.decide(
                attempt(&get, 3),
                Outcome::Status(429, Some(Duration::from_secs(secs))),
                0.7,
            )
        };
        assert_eq!(wait(2), Decision::RetryAfter(Duration::from_secs(2)));
        assert_eq!(wait(0), Decision::RetryAfter(Duration::ZERO));
        assert_eq!(wait(3600), Decision::RetryAfter(Duration::from_secs(60)));
    }

    #[test]
    fn retry_after_forms() {
        let now = DateTime::parse_from_rfc3339("1994-11-06T08:49:30Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
