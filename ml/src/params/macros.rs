//! [`params!`](crate::params!): the builder setters, getters, constructor and [`ParamGuard`]
//! impl of a hyperparameter type from one declaration.
//!
//! [`ParamGuard`]: crate::ParamGuard

/// Builder setters, getters, `new` / `Default` and the [`ParamGuard`](crate::ParamGuard) impl of
/// a params type, from one declaration; only the validation (`check_ref`) is written by hand.
///
/// Three forms:
///
/// - `Params(ValidParams) { … }`: the estimators' newtype pair. Setters go on `Params` and
///   write `self.0.…`; getters go on `ValidParams`.
/// - `Params { … }`: a plain struct (the dataset generators). Setters and getters go on
///   `Params` and use its fields directly.
/// - `Self { … }`, inside an existing `impl` block (generic ones included): only the setters
///   and getters, as items of that block, using `Self`'s fields directly.
///
/// The sections, each optional, in this order:
///
/// - `new = expr;` (with its doc comment): `pub fn new() -> Self { expr }` and a `Default`
///   that calls it.
/// - `set { … }`: one builder setter `pub fn name(mut self, arg: T) -> Self` per entry:
///   - `name(arg: T);` assigns `arg` to the field `name`;
///   - `name(arg: T) => a.b;` assigns it to the field path `a.b`;
///   - `name(args…) => a.b = expr;` assigns `expr` (made from the arguments: `Some(arg)`,
///     `arg.into()`, `(lo, hi)`) to `a.b`.
/// - `get { … }`: one getter `pub fn name(&self)` per entry: `name: T;` returns the field
///   `name` (a `Copy` type), `name: &T;` a reference to it, and `name: T = |p| expr;` the
///   value of `expr` with `p` bound to `&self`.
/// - `check_ref(&self) -> Error { … }` (newtype form only): the [`ParamGuard`](crate::ParamGuard)
///   impl, with `Checked = ValidParams`, `Error`, the given `check_ref` body and the usual
///   `check` (`self.check_ref()?; Ok(self.0)`).
///
/// Doc comments and other attributes on every entry are kept on the generated method.
///
/// ```
/// use rask_ml::ParamGuard;
///
/// /// Validated [`RidgeParams`].
/// #[derive(Clone, Debug, PartialEq)]
/// pub struct RidgeValidParams {
///     alpha: f64,
///     classes: Option<Vec<i64>>,
///     range: (f64, f64),
/// }
///
/// /// Hyperparameters of a ridge regression.
/// #[derive(Clone, Debug, PartialEq)]
/// pub struct RidgeParams(RidgeValidParams);
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("alpha must be positive, got {0}")]
/// pub struct RidgeError(f64);
///
/// rask_ml::params! {
///     RidgeParams(RidgeValidParams) {
///         /// The defaults.
///         new = RidgeParams(RidgeValidParams { alpha: 1.0, classes: None, range: (0.0, 1.0) });
///         set {
///             /// The regularisation strength.
///             alpha(alpha: f64);
///             /// The class labels.
///             classes(c: Vec<i64>) => classes = Some(c);
///             /// The range.
///             range(lo: f64, hi: f64) => range = (lo, hi);
///         }
///         get {
///             /// The regularisation strength.
///             alpha: f64;
///             /// The range.
///             range: &(f64, f64);
///             /// The class labels, if given.
///             classes: Option<&[i64]> = |p| p.classes.as_deref();
///         }
///         check_ref(&self) -> RidgeError {
///             if !(self.0.alpha > 0.0) {
///                 return Err(RidgeError(self.0.alpha));
///             }
///             Ok(&self.0)
///         }
///     }
/// }
///
/// let p = RidgeParams::default().alpha(0.5).classes(vec![0, 1]).range(-1.0, 1.0).check().unwrap();
/// assert_eq!((p.alpha(), p.range(), p.classes()), (0.5, &(-1.0, 1.0), Some(&[0i64, 1][..])));
/// assert!(RidgeParams::new().alpha(-1.0).check().is_err());
/// ```
#[macro_export]
macro_rules! params {
    // The newtype form: setters write `self.0.…`; getters go on the validated type.
    ($t:ident ( $v:ty ) {
        $( $(#[$nm:meta])* new = $init:expr ; )?
        $( set { $($set:tt)* } )?
        $( get { $($get:tt)* } )?
        $( check_ref(& $s:ident) -> $err:ty $check_ref:block )?
    }) => {
        $( $crate::params!(@default $t, $init); )?
        impl $t {
            $( $(#[$nm])* pub fn new() -> Self { $init } )?
            $( $crate::params!(@set [. 0] $($set)*); )?
        }
        $( impl $v { $crate::params!(@get $($get)*); } )?
        $(
            impl $crate::ParamGuard for $t {
                type Checked = $v;
                type Error = $err;

                fn check_ref(& $s) -> ::core::result::Result<&Self::Checked, Self::Error> $check_ref

                fn check(self) -> ::core::result::Result<Self::Checked, Self::Error> {
                    self.check_ref()?;
                    Ok(self.0)
                }
            }
        )?
    };
    // Items of an existing impl block (generic ones included).
    (Self {
        $( set { $($set:tt)* } )?
        $( get { $($get:tt)* } )?
    }) => {
        $( $crate::params!(@set [] $($set)*); )?
        $( $crate::params!(@get $($get)*); )?
    };
    // A plain struct.
    ($t:ident {
        $( $(#[$nm:meta])* new = $init:expr ; )?
        $( set { $($set:tt)* } )?
        $( get { $($get:tt)* } )?
    }) => {
        $( $crate::params!(@default $t, $init); )?
        impl $t {
            $( $(#[$nm])* pub fn new() -> Self { $init } )?
            $( $crate::params!(@set [] $($set)*); )?
            $( $crate::params!(@get $($get)*); )?
        }
    };

    // `Default` by `new()` (`$init` only says that there is a `new`).
    (@default $t:ident, $init:expr) => {
        impl ::core::default::Default for $t {
            fn default() -> Self {
                Self::new()
            }
        }
    };

    // Setters, one entry at a time; `[$($acc)*]` is the path to the fields from `self`.
    (@set [$($acc:tt)*]) => {};
    (@set [$($acc:tt)*] $(#[$m:meta])* $n:ident ($a:ident : $ty:ty) ; $($rest:tt)*) => {
        $(#[$m])*
        pub fn $n(mut self, $a: $ty) -> Self {
            self $($acc)* . $n = $a;
            self
        }
        $crate::params!(@set [$($acc)*] $($rest)*);
    };
    (@set [$($acc:tt)*] $(#[$m:meta])* $n:ident ($a:ident : $ty:ty) => $($p:ident).+ ; $($rest:tt)*) => {
        $(#[$m])*
        pub fn $n(mut self, $a: $ty) -> Self {
            self $($acc)* . $($p).+ = $a;
            self
        }
        $crate::params!(@set [$($acc)*] $($rest)*);
    };
    (@set [$($acc:tt)*]
        $(#[$m:meta])* $n:ident ($($a:ident : $ty:ty),+) => $($p:ident).+ = $e:expr ; $($rest:tt)*) => {
        $(#[$m])*
        pub fn $n(mut self, $($a: $ty),+) -> Self {
            self $($acc)* . $($p).+ = $e;
            self
        }
        $crate::params!(@set [$($acc)*] $($rest)*);
    };

    // Getters, one entry at a time.
    (@get) => {};
    (@get $(#[$m:meta])* $n:ident : & $ty:ty ; $($rest:tt)*) => {
        $(#[$m])*
        pub fn $n(&self) -> &$ty {
            &self.$n
        }
        $crate::params!(@get $($rest)*);
    };
    (@get $(#[$m:meta])* $n:ident : $ty:ty = |$p:ident| $e:expr ; $($rest:tt)*) => {
        $(#[$m])*
        pub fn $n(&self) -> $ty {
            let $p = self;
            $e
        }
        $crate::params!(@get $($rest)*);
    };
    (@get $(#[$m:meta])* $n:ident : $ty:ty ; $($rest:tt)*) => {
        $(#[$m])*
        pub fn $n(&self) -> $ty {
            self.$n
        }
        $crate::params!(@get $($rest)*);
    };
}
