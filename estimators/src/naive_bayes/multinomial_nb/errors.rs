/// What can go wrong when fitting a [`super::MultinomialNB`]: the error type shared by the count-based
/// naive Bayes classifiers.
pub type MultinomialNBError = crate::naive_bayes::count_nb::DiscreteNBError;
