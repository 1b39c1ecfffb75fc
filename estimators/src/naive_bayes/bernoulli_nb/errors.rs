/// What can go wrong when fitting a [`super::BernoulliNB`]: the error type shared by the count-based
/// naive Bayes classifiers.
pub type BernoulliNBError = crate::naive_bayes::count_nb::DiscreteNBError;
