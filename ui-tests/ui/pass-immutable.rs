//! Immutable values: lazy and eager caches, in a crate that denies missing
//! docs and warnings; a value without a block; a generic value; a renamed
//! handle; the struct and its block in different modules.
#![deny(missing_docs, warnings)]

/// Shapes.
pub mod shapes {
    use steadfast::Immutable;

    /// A polygon.
    #[derive(Debug, Immutable)]
    #[immutable(handle = "Polygon")]
    pub struct Points {
        /// Its corners.
        pub corners: Vec<(f64, f64)>,
    }

    /// What is known of a polygon.
    pub mod facts {
        use steadfast::methods;

        #[methods(immutable, handle = Polygon)]
        impl super::Points {
            /// Its perimeter.
            #[cache_lazy]
            pub fn perimeter(&self) -> f64 {
                let n = self.corners.len();
                (0..n)
                    .map(|i| {
                        let ((x1, y1), (x2, y2)) = (self.corners[i], self.corners[(i + 1) % n]);
                        ((x2 - x1).powi(2) + (y2 - y1).powi(2)).sqrt()
                    })
                    .sum()
            }

            /// The first corner right of the origin, if any.
            #[cache_lazy]
            pub fn right(&self) -> Result<(f64, f64), String> {
                self.corners.iter().copied().find(|c| c.0 > 0.0).ok_or_else(|| "none".into())
            }

            /// A description, computed in the background.
            #[cache_eager]
            pub fn description(&self) -> String {
                format!("{} corners", self.corners.len())
            }
        }
    }
}

/// No methods block.
#[derive(Debug, steadfast::Immutable)]
pub struct Tag(pub &'static str);

/// Generic.
#[derive(steadfast::Immutable)]
pub struct Sorted<T> {
    /// The items.
    pub items: Vec<T>,
}

#[steadfast::methods(immutable)]
impl<T: Send + Sync + 'static> Sorted<T> {
    /// How many.
    #[cache_eager]
    pub fn len(&self) -> usize {
        self.items.len()
    }
}

fn main() {
    let square = shapes::Polygon::new(shapes::Points {
        corners: vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)],
    });
    assert_eq!(*square.perimeter(), 4.0);
    assert_eq!(square.right(), Ok(&(1.0, 0.0)));
    assert_eq!(square.description(), "4 corners");
    assert_eq!(square.corners.len(), 4);
    let tag: ImmTag = Tag("x").into();
    assert_eq!(format!("{tag:?}"), r#"ImmTag(Tag("x"))"#);
    let sorted = ImmSorted::new(Sorted { items: vec![1, 2] });
    assert_eq!(*sorted.len(), 2);
}
