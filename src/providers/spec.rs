//! What a provider declares about itself: its config fields with their prompts and validation, API root, polling cost and dashboard — the entries of the provider registry.
//!
//! Every consumer that needs to know "what does Railway take" (the config
//! validator, the CLI's flags and prompts, the dashboard's dialog, the
//! scheduler's budgets, the HTTP layer's host rule, the tests) reads it from
//! here, never from its own `match` on the provider. Adding a provider is
//! writing one [`Spec`] and one [`TargetSpec`] in `providers/<name>.rs` and one
//! line in the registry (`providers/mod.rs`); see CONTRIBUTING.md.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use url::Url;

use super::{Context, Exchange, Step};

/// A provider's request limit, as requests per window (apis.md §5).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    pub requests: f64,
    pub per: Duration,
}

impl Limit {
    pub(crate) const fn per_hour(requests: f64) -> Limit {
        Limit {
            requests,
            per: Duration::from_secs(3600),
        }
    }

    pub(crate) fn per_second(&self) -> f64 {
        self.requests / self.per.as_secs_f64()
    }

    /// The usual answer to a 429 when the provider does not say more: half.
    pub(crate) fn halved(self) -> Limit {
        Limit {
            requests: (self.requests / 2.0).max(1.0),
            per: self.per,
        }
    }
}

/// One config field that says *what* a service watches (a project id, a site).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldSpec {
    /// The config key (`project`); the CLI flag is `--` + the key with `-` for `_`.
    pub key: &'static str,
    /// A short label for forms and prompts ("Project id").
    pub label: &'static str,
    /// What the value is, completing "`key` = …" in messages
    /// ("the Railway project id (Project Settings → General)").
    pub help: &'static str,
    /// Whether a service must set it; optional fields take [`FieldSpec::default`].
    pub required: bool,
    pub default: Option<&'static str>,
    /// The accepted values when the field is a choice (its first is the default).
    pub choices: &'static [&'static str],
}

impl FieldSpec {
    /// A required text field.
    pub const fn required(key: &'static str, label: &'static str, help: &'static str) -> Self {
        FieldSpec {
            key,
            label,
            help,
            required: true,
            default: None,
            choices: &[],
        }
    }

    /// The question the CLI asks for it ("Sentry organization slug").
    pub fn prompt(&self, provider_title: &str) -> String {
        let mut label = self.label.to_string();
        if let Some(first) = label.get(..1) {
            label.replace_range(..1, &first.to_lowercase());
        }
        format!("{provider_title} {label}")
    }

    /// The command-line flag for this field (`--token-kind`).
    pub fn flag(&self) -> String {
        format!("--{}", self.key.replace('_', "-"))
    }
}

/// Everything the rest of the program needs to know about one provider.
pub struct Spec {
    /// The config's `provider = "…"` value and the JSON name ("railway").
    pub id: &'static str,
    /// The name people use ("Railway").
    pub title: &'static str,
    /// The public API root, replaced by a service's `base_url`.
    pub base_url: &'static str,
    /// Where a user creates the API key this provider needs (for prompts and the dashboard).
    pub key_help: &'static str,
    /// Whether people run it themselves or in several regions, so that setup
    /// asks for an API base URL.
    pub self_hosted: bool,
    /// The fields that say what a service watches, in the order they are asked.
    pub fields: &'static [FieldSpec],
    /// Further config keys this provider reads (alert thresholds), validated
    /// by the config's shared threshold rules.
    pub settings: &'static [&'static str],
    /// The limit assumed for a key until a 429 says otherwise.
    pub limit: Limit,
    /// The limit after a 429 on the key.
    pub lowered: fn(Limit) -> Limit,
    /// Requests one check sends, on average.
    pub requests_per_poll: f64,
    /// The adapter: the next requests, or the card.
    pub plan: fn(&Context<'_>, &[Exchange]) -> Step,
    /// Whether a request to `url` still belongs to the API configured at
    /// `base` although their origins differ (Sentry's regional hosts).
    pub same_api: fn(base: &Url, url: &Url) -> bool,
    /// Field values of a plausible target; `{n}` becomes a number (tests,
    /// benchmarks' fleets, documentation).
    pub example: &'static [(&'static str, &'static str)],
}

impl Spec {
    /// Every provider-specific config key: the fields, then the settings.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.fields
            .iter()
            .map(|f| f.key)
            .chain(self.settings.iter().copied())
    }

    /// The field with this config key.
    pub fn field(&self, key: &str) -> Option<&'static FieldSpec> {
        self.fields.iter().find(|f| f.key == key)
    }

    /// The example target's values with `{n}` replaced by `n`.
    pub fn example_values(&self, n: usize) -> BTreeMap<String, String> {
        self.example
            .iter()
            .map(|(k, v)| (k.to_string(), v.replace("{n}", &n.to_string())))
            .collect()
    }
}

impl fmt::Debug for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spec").field("id", &self.id).finish()
    }
}

/// The default for [`Spec::same_api`]: only the configured origin is the API.
pub(crate) fn only_base(_base: &Url, _url: &Url) -> bool {
    false
}

/// What a provider's target type does: read itself from fields, describe
/// itself, write itself back.
pub trait TargetSpec: fmt::Debug {
    /// Reads the target from `fields`, reporting every problem there; `None` when any.
    fn parse(fields: &mut dyn Fields) -> Option<Self>
    where
        Self: Sized;
    /// A short human description ("project 3f2a9c1e (production)").
    fn describe(&self) -> String;
    /// The provider's web page for this target, used when `dashboard` is not set.
    fn dashboard(&self, base_url: Option<&Url>) -> String;
    /// The values to write back to a config, in field order, defaults left out.
    fn values(&self) -> Vec<(&'static str, String)>;
}

/// Where field values come from while a target is read: the config file
/// (problems at file:line), the CLI's flags or the dashboard's form (problems per field).
pub trait Fields {
    /// The value of `key` as written, `None` when absent; a value of the
    /// wrong type is reported by the implementation and reads as `None`.
    fn get(&mut self, key: &'static str) -> Option<String>;
    /// Whether `key` is present at all (even with a wrong value).
    fn has(&self, key: &'static str) -> bool;
    /// A problem with the value of `key`.
    fn problem(&mut self, key: &'static str, message: String);
    /// A required field that is absent.
    fn missing(&mut self, field: &FieldSpec);

    /// A required field's trimmed value; reports an absent, empty, `.` or `..` value.
    fn required(&mut self, field: &FieldSpec) -> Option<String> {
        let key = field.key;
        match self.get(key) {
            // "." or ".." as one path segment would move the request to
            // another path of the provider's API.
            Some(s) if matches!(s.trim(), "." | "..") => {
                let message = format!("`{key}` cannot be `{}`: it is {}", s.trim(), field.help);
                self.problem(key, message);
                None
            }
            Some(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(_) => {
                self.problem(
                    key,
                    format!("`{key}` cannot be empty: it is {}", field.help),
                );
                None
            }
            None => {
                if !self.has(key) {
                    self.missing(field);
                }
                None
            }
        }
    }

    /// An optional field's trimmed value, or its default when absent or empty.
    fn optional(&mut self, field: &FieldSpec) -> String {
        self.get(field.key)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .or_else(|| field.default.map(str::to_string))
            .unwrap_or_default()
    }
}

/// A field read through `FromStr`, its error reported at the field; the
/// default when absent or wrong.
pub fn choice<T: std::str::FromStr<Err = String> + Default>(
    f: &mut (impl Fields + ?Sized),
    field: &FieldSpec,
) -> T {
    match f.get(field.key) {
        Some(s) => match s.parse::<T>() {
            Ok(v) => v,
            Err(e) => {
                f.problem(field.key, e);
                T::default()
            }
        },
        None => T::default(),
    }
}

/// Field values from a map (the CLI's flags, the dashboard's form), with
/// problems collected per field.
#[derive(Debug)]
pub struct MapFields<'a> {
    values: &'a BTreeMap<String, String>,
    /// `(key, message)` in the order found.
    pub problems: Vec<(String, String)>,
}

impl<'a> MapFields<'a> {
    pub fn new(values: &'a BTreeMap<String, String>) -> Self {
        MapFields {
            values,
            problems: Vec::new(),
        }
    }
}

impl Fields for MapFields<'_> {
    fn get(&mut self, key: &'static str) -> Option<String> {
        let v = self.values.get(key)?;
        match v.chars().find(|c| crate::text::is_unsafe(*c)) {
            Some(c) => {
                self.problem(
                    key,
                    format!(
                        "`{key}` contains a control character (U+{:04X}); remove it",
                        u32::from(c)
                    ),
                );
                None
            }
            None => Some(v.clone()),
        }
    }

    fn has(&self, key: &'static str) -> bool {
        self.values.contains_key(key)
    }

    fn problem(&mut self, key: &'static str, message: String) {
        self.problems.push((key.to_string(), message));
    }

    fn missing(&mut self, field: &FieldSpec) {
        self.problem(
            field.key,
            format!("`{}` is needed: {}", field.key, field.help),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{Provider, Target};

    #[test]
    fn every_provider_names_itself_consistently() {
        let mut ids = Vec::new();
        for p in Provider::ALL {
            let spec = p.spec();
            assert_eq!(p.as_str(), spec.id);
            assert_eq!(spec.id.parse::<Provider>(), Ok(p));
            assert_eq!(spec.title.parse::<Provider>(), Ok(p), "case-insensitive");
            assert_eq!(serde_json::to_value(p).unwrap(), serde_json::json!(spec.id));
            let back: Provider = serde_json::from_value(serde_json::json!(spec.id)).unwrap();
            assert_eq!(back, p);
            assert!(Url::parse(spec.base_url).is_ok(), "{}", spec.base_url);
            assert!(spec.limit.per_second() > 0.0);
            assert!((spec.lowered)(spec.limit).requests <= spec.limit.requests);
            assert!(spec.requests_per_poll >= 1.0);
            assert!(!spec.fields.is_empty(), "{p} says what a service watches");
            ids.push(spec.id);
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), Provider::ALL.len(), "ids are unique");
        let err = "heroku".parse::<Provider>().unwrap_err();
        for p in Provider::ALL {
            assert!(err.contains(p.as_str()), "{err}");
        }
    }

    #[test]
    fn every_example_target_reads_back_what_it_writes() {
        for p in Provider::ALL {
            let t = Target::example(p, 7);
            assert_eq!(t.provider(), p);
            let values: BTreeMap<String, String> = t
                .values()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            let mut fields = MapFields::new(&values);
            assert_eq!(Target::parse(p, &mut fields), Some(t.clone()));
            assert!(fields.problems.is_empty());
            assert!(t.describe().contains('7'), "{}", t.describe());
            assert!(t.default_dashboard(None).starts_with("https://"));
            for (k, _) in t.values() {
                assert!(
                    p.spec().field(k).is_some(),
                    "{p} writes `{k}` it does not read"
                );
            }
        }
    }

    #[test]
    fn a_missing_or_empty_required_field_is_named() {
        for p in Provider::ALL {
            for field in p.spec().fields.iter().filter(|f| f.required) {
                let mut values = p.spec().example_values(1);
                values.remove(field.key);
                let mut fields = MapFields::new(&values);
                assert_eq!(Target::parse(p, &mut fields), None);
                assert_eq!(fields.problems.len(), 1, "{:?}", fields.problems);
                assert_eq!(fields.problems[0].0, field.key);
                assert!(fields.problems[0].1.contains(field.help));

                for bad in ["  ", "..", "a\u{1b}[31m"] {
                    values.insert(field.key.into(), bad.into());
                    let mut fields = MapFields::new(&values);
                    assert_eq!(Target::parse(p, &mut fields), None, "{p} {bad:?}");
                    assert_eq!(fields.problems[0].0, field.key);
                }
            }
        }
    }

    #[test]
    fn a_choice_field_refuses_other_values_and_optional_fields_default() {
        for p in Provider::ALL {
            for field in p.spec().fields.iter().filter(|f| !f.choices.is_empty()) {
                let mut values = p.spec().example_values(1);
                values.insert(field.key.into(), "neither".into());
                let mut fields = MapFields::new(&values);
                Target::parse(p, &mut fields);
                assert_eq!(fields.problems.len(), 1, "{:?}", fields.problems);
                assert_eq!(fields.problems[0].0, field.key);
            }
            // Defaults are never written back.
            let t = Target::example(p, 1);
            for (k, v) in t.values() {
                assert_ne!(Some(v.as_str()), p.spec().field(k).unwrap().default);
            }
        }
    }
}
