//! Fragments: how the readers of one request split a source's partitions. Partition `p`
//! belongs to fragment `p % frag_cnt == frag_id`, and a `frag_cnt` of 0 counts as 1 (the
//! whole source).

/// The fragment numbers of a request make no sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("bad fragment {frag_id} of {frag_cnt}: frag_id must be in 0..frag_cnt")]
pub struct BadFragment {
    /// `frag_id`.
    pub frag_id: i32,
    /// `frag_cnt`.
    pub frag_cnt: i32,
}

/// Which partitions a reader owns: `p % frag_cnt == frag_id` (`frag_cnt` 0 counts as 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    id: i32,
    count: i32,
}

impl Fragment {
    /// Checks a request's fragment numbers.
    pub fn new(frag_id: i32, frag_cnt: i32) -> Result<Fragment, BadFragment> {
        let count = if frag_cnt == 0 { 1 } else { frag_cnt };
        if count < 1 || !(0..count).contains(&frag_id) {
            return Err(BadFragment { frag_id, frag_cnt });
        }
        Ok(Fragment { id: frag_id, count })
    }

    /// Whether this fragment owns partition `p`.
    pub fn owns(self, p: i32) -> bool {
        p.rem_euclid(self.count) == self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_split_partitions() {
        let f = Fragment::new(1, 2).unwrap();
        let owned: Vec<i32> = (0..5).filter(|&p| f.owns(p)).collect();
        assert_eq!(owned, [1, 3]);
        let all = Fragment::new(0, 0).unwrap();
        assert!((0..4).all(|p| all.owns(p)));
        assert!(Fragment::new(2, 2).is_err());
        assert!(Fragment::new(-1, 2).is_err());
        assert!(Fragment::new(0, -1).is_err());
        let parts: Vec<Vec<i32>> = (0..3)
            .map(|id| {
                let f = Fragment::new(id, 3).unwrap();
                (0..7).filter(|&p| f.owns(p)).collect()
            })
            .collect();
        assert_eq!(parts, [vec![0, 3, 6], vec![1, 4], vec![2, 5]]);
    }

    #[test]
    fn frag_cnt_zero_is_one_and_bad_numbers_are_named() {
        let owned = |id, cnt| -> Vec<i32> {
            let f = Fragment::new(id, cnt).unwrap();
            (0..7).filter(|&p| f.owns(p)).collect()
        };
        assert_eq!(owned(0, 0), (0..7).collect::<Vec<_>>());
        assert_eq!(owned(0, 1), (0..7).collect::<Vec<_>>());
        assert_eq!(owned(0, 2), [0, 2, 4, 6]);
        assert_eq!(owned(1, 2), [1, 3, 5]);
        assert_eq!(owned(2, 3), [2, 5]);
        for (id, cnt) in [(2, 2), (-1, 2), (0, -1), (1, 0)] {
            assert_eq!(
                Fragment::new(id, cnt),
                Err(BadFragment {
                    frag_id: id,
                    frag_cnt: cnt
                })
            );
        }
        assert_eq!(
            BadFragment {
                frag_id: 2,
                frag_cnt: 2
            }
            .to_string(),
            "bad fragment 2 of 2: frag_id must be in 0..frag_cnt"
        );
    }
}
