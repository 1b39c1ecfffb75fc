//! Small real datasets, embedded in the binary so they work offline: iris, wine, breast cancer
//! (Wisconsin diagnostic) and diabetes, as scikit-learn ships them (`datasets/data/README.md`
//! says where they come from). For examples and tests.

use ndarray::{Array1, Array2};
use rask_ml::{ChunkedArray, ChunkedDataset, ChunkedVector, Element};

use crate::npy::LoadError;

/// A small real dataset, in memory and chunked.
#[derive(Clone, Debug)]
pub struct RealDataset<Y> {
    /// The features, in memory.
    pub x: Array2<f64>,
    /// The targets, in memory.
    pub y: Array1<Y>,
    /// The same data as a chunked dataset.
    pub data: ChunkedDataset<f64, Y>,
    /// Feature names, as scikit-learn gives them.
    pub feature_names: Vec<&'static str>,
    /// Class names (empty for regression targets).
    pub target_names: Vec<&'static str>,
}

const IRIS_FEATURES: &[&str] = &["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"];
const IRIS_TARGETS: &[&str] = &["setosa", "versicolor", "virginica"];
const WINE_FEATURES: &[&str] = &[
    "alcohol",
    "malic_acid",
    "ash",
    "alcalinity_of_ash",
    "magnesium",
    "total_phenols",
    "flavanoids",
    "nonflavanoid_phenols",
    "proanthocyanins",
    "color_intensity",
    "hue",
    "od280/od315_of_diluted_wines",
    "proline",
];
const WINE_TARGETS: &[&str] = &["class_0", "class_1", "class_2"];
const BREAST_CANCER_FEATURES: &[&str] = &[
    "mean radius",
    "mean texture",
    "mean perimeter",
    "mean area",
    "mean smoothness",
    "mean compactness",
    "mean concavity",
    "mean concave points",
    "mean symmetry",
    "mean fractal dimension",
    "radius error",
    "texture error",
    "perimeter error",
    "area error",
    "smoothness error",
    "compactness error",
    "concavity error",
    "concave points error",
    "symmetry error",
    "fractal dimension error",
    "worst radius",
    "worst texture",
    "worst perimeter",
    "worst area",
    "worst smoothness",
    "worst compactness",
    "worst concavity",
    "worst concave points",
    "worst symmetry",
    "worst fractal dimension",
];
const BREAST_CANCER_TARGETS: &[&str] = &["malignant", "benign"];
const DIABETES_FEATURES: &[&str] = &["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"];

fn bad(name: &str, message: String) -> LoadError {
    LoadError::Format { path: format!("<embedded {name}>").into(), message }
}

fn parse_f64(name: &str, line: usize, s: &str) -> Result<f64, LoadError> {
    s.trim().parse::<f64>().map_err(|_| bad(name, format!("line {line}: cannot read {s:?} as a number")))
}

/// Parses scikit-learn's layout: a first line `n_samples,n_features,class names…`, then rows
/// of features followed by an integer class.
fn parse_classification(name: &str, text: &str) -> Result<(Array2<f64>, Array1<i64>), LoadError> {
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().ok_or_else(|| bad(name, "empty".into()))?.split(',').collect();
    let n: usize = head[0].parse().map_err(|_| bad(name, "bad header".into()))?;
    let d: usize = head.get(1).and_then(|s| s.parse().ok()).ok_or_else(|| bad(name, "bad header".into()))?;
    let mut x = Vec::with_capacity(n * d);
    let mut y = Vec::with_capacity(n);
    for (i, line) in lines.filter(|l| !l.trim().is_empty()).enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != d + 1 {
            return Err(bad(name, format!("line {} has {} fields, expected {}", i + 2, fields.len(), d + 1)));
        }
        for f in &fields[..d] {
            x.push(parse_f64(name, i + 2, f)?);
        }
        y.push(fields[d].trim().parse::<i64>().map_err(|_| bad(name, format!("line {}: bad class", i + 2)))?);
    }
    if y.len() != n {
        return Err(bad(name, format!("{} rows, the header says {n}", y.len())));
    }
    let x = Array2::from_shape_vec((n, d), x).map_err(|e| bad(name, e.to_string()))?;
    Ok((x, Array1::from(y)))
}

fn chunked<Y: Element>(x: &Array2<f64>, y: &Array1<Y>, chunk_rows: usize) -> Result<ChunkedDataset<f64, Y>, LoadError> {
    let cx = ChunkedArray::from_array(x.view(), chunk_rows)?;
    let sizes = cx.chunks().sizes().map(<[usize]>::to_vec).unwrap_or_default();
    let cy = ChunkedVector::from_array_with_chunks(y.view(), &sizes)?;
    Ok(ChunkedDataset::new(cx, cy)?)
}

fn classification(
    name: &str,
    text: &str,
    features: &'static [&'static str],
    targets: &'static [&'static str],
    chunk_rows: usize,
) -> Result<RealDataset<i64>, LoadError> {
    let (x, y) = parse_classification(name, text)?;
    if x.ncols() != features.len() {
        return Err(bad(name, format!("{} columns for {} feature names", x.ncols(), features.len())));
    }
    let data = chunked(&x, &y, chunk_rows)?;
    Ok(RealDataset { x, y, data, feature_names: features.to_vec(), target_names: targets.to_vec() })
}

/// Fisher's iris: 150 flowers, 4 measurements, 3 species.
pub fn load_iris(chunk_rows: usize) -> Result<RealDataset<i64>, LoadError> {
    classification("iris", include_str!("../data/iris.csv"), IRIS_FEATURES, IRIS_TARGETS, chunk_rows)
}

/// Wine recognition: 178 wines, 13 chemical measurements, 3 cultivars.
pub fn load_wine(chunk_rows: usize) -> Result<RealDataset<i64>, LoadError> {
    classification("wine", include_str!("../data/wine_data.csv"), WINE_FEATURES, WINE_TARGETS, chunk_rows)
}

/// Breast cancer Wisconsin (diagnostic): 569 samples, 30 features, malignant (0) or benign (1).
pub fn load_breast_cancer(chunk_rows: usize) -> Result<RealDataset<i64>, LoadError> {
    classification(
        "breast cancer",
        include_str!("../data/breast_cancer.csv"),
        BREAST_CANCER_FEATURES,
        BREAST_CANCER_TARGETS,
        chunk_rows,
    )
}

/// Diabetes: 442 patients, 10 baseline variables (unscaled, like scikit-learn's
/// `load_diabetes(scaled=False)`), and a measure of disease progression one year later.
pub fn load_diabetes(chunk_rows: usize) -> Result<RealDataset<f64>, LoadError> {
    let name = "diabetes";
    let mut x = Vec::new();
    let mut n = 0;
    for (i, line) in include_str!("../data/diabetes_data_raw.txt").lines().filter(|l| !l.trim().is_empty()).enumerate()
    {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() != DIABETES_FEATURES.len() {
            return Err(bad(name, format!("line {} has {} fields, expected 10", i + 1, fields.len())));
        }
        for f in fields {
            x.push(parse_f64(name, i + 1, f)?);
        }
        n += 1;
    }
    let y: Vec<f64> = include_str!("../data/diabetes_target.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| parse_f64(name, i + 1, l))
        .collect::<Result<_, _>>()?;
    if y.len() != n {
        return Err(bad(name, format!("{n} feature rows but {} targets", y.len())));
    }
    let x = Array2::from_shape_vec((n, DIABETES_FEATURES.len()), x).map_err(|e| bad(name, e.to_string()))?;
    let y = Array1::from(y);
    let data = chunked(&x, &y, chunk_rows)?;
    Ok(RealDataset { x, y, data, feature_names: DIABETES_FEATURES.to_vec(), target_names: Vec::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(y: &Array1<i64>) -> Vec<usize> {
        let k = y.iter().copied().max().unwrap_or(0) as usize + 1;
        let mut c = vec![0; k];
        for &v in y {
            c[v as usize] += 1;
        }
        c
    }

    // Reference figures from scikit-learn 1.6.1's loaders (shape, class counts, sum of features).
    #[test]
    fn datasets_match_scikit_learn() {
        let iris = load_iris(40).unwrap();
        assert_eq!(iris.x.dim(), (150, 4));
        assert_eq!(counts(&iris.y), vec![50, 50, 50]);
        assert!((iris.x.sum() - 2078.7).abs() < 1e-9);
        assert_eq!(iris.data.x().n_blocks(), 4);
        assert_eq!(iris.data.x().compute().unwrap(), iris.x);

        let wine = load_wine(100).unwrap();
        assert_eq!(wine.x.dim(), (178, 13));
        assert_eq!(counts(&wine.y), vec![59, 71, 48]);
        assert!((wine.x.sum() - 159975.295999).abs() < 1e-6);

        let bc = load_breast_cancer(100).unwrap();
        assert_eq!(bc.x.dim(), (569, 30));
        assert_eq!(counts(&bc.y), vec![212, 357]);
        assert!((bc.x.sum() - 1056474.4596356).abs() < 1e-6);
        assert_eq!(bc.target_names, vec!["malignant", "benign"]);

        let diabetes = load_diabetes(100).unwrap();
        assert_eq!(diabetes.x.dim(), (442, 10));
        assert!((diabetes.x.sum() - 276404.2336).abs() < 1e-6);
        assert!((diabetes.y.sum() - 67243.0).abs() < 1e-9);
        assert_eq!(diabetes.data.y().unwrap().compute().unwrap(), diabetes.y);
    }

    #[test]
    fn a_zero_chunk_size_is_refused() {
        assert!(load_iris(0).is_err());
    }
}
