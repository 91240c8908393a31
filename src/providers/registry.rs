//! The `registry!` macro: from one line per provider it declares the provider's module and derives `Provider` (with `ALL`), `Target` and their dispatch to each provider's `Spec` and target type.
//!
//! Nothing else in the program matches on a provider to learn a fact about
//! it; it asks `provider.spec()` or the target's [`TargetSpec`](super::TargetSpec).

macro_rules! registry {
    ($($variant:ident => $module:ident :: $target:ident),+ $(,)?) => {
        $(pub mod $module;)+
        pub use self::registered::{Provider, Target};

        mod registered {
            use std::fmt;
            use std::str::FromStr;

            use url::Url;

            use super::spec::{Fields, Spec, TargetSpec};
            $(use super::$module;)+

            /// The providers Overwatch can watch: one per line of the registry.
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
            pub enum Provider {
                $($variant),+
            }

            impl Provider {
                /// Every registered provider, in registry order.
                pub const ALL: [Provider; [$(stringify!($variant)),+].len()] =
                    [$(Provider::$variant),+];

                /// What the provider declares about itself.
                pub fn spec(self) -> &'static Spec {
                    match self {
                        $(Provider::$variant => &$module::SPEC),+
                    }
                }

                /// The config and JSON name ("railway").
                pub fn as_str(self) -> &'static str {
                    self.spec().id
                }

                /// The name people use for it ("Railway").
                pub fn title(self) -> &'static str {
                    self.spec().title
                }

                /// The provider's public API root, replaced by a service's `base_url`.
                pub(crate) fn default_base_url(self) -> &'static str {
                    self.spec().base_url
                }
            }

            impl fmt::Display for Provider {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str(self.as_str())
                }
            }

            impl FromStr for Provider {
                type Err = String;
                fn from_str(s: &str) -> Result<Self, Self::Err> {
                    Provider::ALL
                        .into_iter()
                        .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
                        .ok_or_else(|| {
                            let names: Vec<&str> = Provider::ALL.iter().map(|p| p.as_str()).collect();
                            format!("unknown provider `{s}`: use one of {}", names.join(", "))
                        })
                }
            }

            impl serde::Serialize for Provider {
                fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    s.serialize_str(self.as_str())
                }
            }

            impl<'de> serde::Deserialize<'de> for Provider {
                fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    let s = String::deserialize(d)?;
                    s.parse().map_err(serde::de::Error::custom)
                }
            }

            /// What a service points at on its provider: the provider's own target type.
            #[derive(Debug, Clone, PartialEq, Eq, Hash)]
            pub enum Target {
                $($variant($module::$target)),+
            }

            impl Target {
                pub fn provider(&self) -> Provider {
                    match self {
                        $(Target::$variant(_) => Provider::$variant),+
                    }
                }

                /// The provider's target as its [`TargetSpec`].
                pub fn spec(&self) -> &dyn TargetSpec {
                    match self {
                        $(Target::$variant(t) => t),+
                    }
                }

                /// Reads a target of provider `p` from `fields`, reporting every problem there.
                pub fn parse(p: Provider, fields: &mut dyn Fields) -> Option<Target> {
                    match p {
                        $(Provider::$variant => {
                            <$module::$target as TargetSpec>::parse(fields).map(Target::$variant)
                        })+
                    }
                }

                /// A short human description ("project 3f2a9c1e (production)").
                pub fn describe(&self) -> String {
                    self.spec().describe()
                }

                /// The provider's web dashboard for this target, used when `dashboard` is not set.
                pub(crate) fn default_dashboard(&self, base_url: Option<&Url>) -> String {
                    self.spec().dashboard(base_url)
                }

                /// The target's config values, in field order, defaults left out.
                pub fn values(&self) -> Vec<(&'static str, String)> {
                    self.spec().values()
                }

                /// The example target of provider `p` (`{n}` in its values becomes `n`).
                pub fn example(p: Provider, n: usize) -> Target {
                    let values = p.spec().example_values(n);
                    let mut fields = super::spec::MapFields::new(&values);
                    Target::parse(p, &mut fields)
                        .unwrap_or_else(|| panic!("{p}'s example target does not validate: {:?}", fields.problems))
                }
            }
        }
    };
}
