//! Helpers for the hyperparameters-by-name impls ([`SetParams`](rask_ml::SetParams)).
//!
//! Most params types use [`rask_ml::impl_set_params!`]. The few whose enum choices carry a
//! value that scikit-learn sets as a *separate* parameter (`strategy="constant"` with
//! `fill_value`, `svd_solver="randomized"` with `n_oversamples`, `loss="huber"` with
//! `epsilon`, …) keep that value beside the enum, so the two names can be set in either order
//! (a grid sets them in the order it lists them), and use [`set_params_by_hand!`] to pair
//! each name with its own read and write.

use rask_ml::params::{wrong_type, ParamValue};

/// Implements [`SetParams`](rask_ml::SetParams) from a list of names, each either
/// `field (place)` (read and written through [`ParamType`](rask_ml::params::ParamType)) or
/// `with (get, set)`: `get` an expression giving the [`ParamValue`] from `p: &Self`, `set` an
/// expression giving `rask_ml::Result<()>` from `p: &mut Self`, `name: &str` and
/// `value: &ParamValue`.
macro_rules! set_params_by_hand {
    ($ty:ty, |$p:ident, $n:ident, $v:ident| { $($name:literal => $kind:ident $body:tt),+ $(,)? }) => {
        impl ::rask_ml::params::SetParams for $ty {
            fn get_params(&self) -> ::std::vec::Vec<(::std::string::String, ::rask_ml::params::ParamValue)> {
                let $p = self;
                ::std::vec![$(($name.to_string(), $crate::by_name::set_params_by_hand!(@get $kind $body))),+]
            }

            fn set_param(&mut self, $n: &str, $v: &::rask_ml::params::ParamValue) -> ::rask_ml::Result<()> {
                let $p = self;
                match $n {
                    $($name => $crate::by_name::set_params_by_hand!(@set $n, $v, $kind $body),)+
                    _ => Err(::rask_ml::params::unknown_param($n, &[$($name),+])),
                }
            }
        }
    };
    (@get field ($f:expr)) => {
        ::rask_ml::params::ParamType::to_param(&$f)
    };
    (@get with ($get:expr, $set:expr)) => {
        $get
    };
    (@set $n:ident, $v:ident, field ($f:expr)) => {{
        $f = ::rask_ml::params::ParamType::from_param($n, $v)?;
        Ok(())
    }};
    (@set $n:ident, $v:ident, with ($get:expr, $set:expr)) => {
        $set
    };
}
pub(crate) use set_params_by_hand;

/// The error for an enum choice that carries data which cannot be given by name (given
/// initial centres): names the parameter, the choices that can be set, and how to give the
/// data instead.
pub(crate) fn not_by_name(name: &str, choices: &str, how: &str, value: &ParamValue) -> rask_ml::MlError {
    wrong_type(name, &format!("one of {choices} ({how})"), value)
}
