//! Firm size classes (工信部联企业〔2011〕300号), as versioned, dated data.
//!
//! Programmes are often limited to small and micro firms, so the size class
//! decides who may claim public money. It is derived, never typed in: from
//! the sector, the staff count and the operating revenue, by the standard in
//! force on a given date. The standard may be revised; a revision is a new
//! `SizeStandard` with its own effective date, and old decisions can still
//! be explained by the standard that applied then.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::Fen;

/// Sectors the standard distinguishes (a subset of its table; the rest use
/// `Other`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sector {
    /// 工业
    Industry,
    /// 软件和信息技术服务业
    SoftwareIt,
    /// 批发业
    Wholesale,
    /// 零售业
    Retail,
    /// 交通运输业
    Transport,
    /// 仓储业
    Warehousing,
    /// 其他未列明行业 (staff count only)
    Other,
}

impl Sector {
    pub const ALL: [Sector; 7] = [
        Sector::Industry,
        Sector::SoftwareIt,
        Sector::Wholesale,
        Sector::Retail,
        Sector::Transport,
        Sector::Warehousing,
        Sector::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Sector::Industry => "industry",
            Sector::SoftwareIt => "software_it",
            Sector::Wholesale => "wholesale",
            Sector::Retail => "retail",
            Sector::Transport => "transport",
            Sector::Warehousing => "warehousing",
            Sector::Other => "other",
        }
    }

    /// Accepts the code or the Chinese name, as spreadsheets use either.
    pub fn parse(text: &str) -> Option<Sector> {
        let text = text.trim();
        Sector::ALL
            .into_iter()
            .find(|sector| sector.as_str() == text || sector.name_zh() == text)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Sector::Industry => "工业",
            Sector::SoftwareIt => "软件和信息技术服务业",
            Sector::Wholesale => "批发业",
            Sector::Retail => "零售业",
            Sector::Transport => "交通运输业",
            Sector::Warehousing => "仓储业",
            Sector::Other => "其他未列明行业",
        }
    }
}

/// The size class of a firm.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SizeClass {
    /// 微型
    Micro,
    /// 小型
    Small,
    /// 中型
    Medium,
    /// 大型: above the SME ceiling.
    Large,
}

impl SizeClass {
    pub const ALL: [SizeClass; 4] = [
        SizeClass::Micro,
        SizeClass::Small,
        SizeClass::Medium,
        SizeClass::Large,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SizeClass::Micro => "micro",
            SizeClass::Small => "small",
            SizeClass::Medium => "medium",
            SizeClass::Large => "large",
        }
    }

    pub fn parse(text: &str) -> Option<SizeClass> {
        SizeClass::ALL
            .into_iter()
            .find(|class| class.as_str() == text)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            SizeClass::Micro => "微型",
            SizeClass::Small => "小型",
            SizeClass::Medium => "中型",
            SizeClass::Large => "大型",
        }
    }
}

/// Thresholds for one sector, revenue in 万元 (10,000 元).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectorThresholds {
    pub sector: Sector,
    /// Medium: at least this many staff and this revenue.
    pub medium: (u32, u64),
    /// Small: at least this many staff and this revenue.
    pub small: (u32, u64),
    /// SME ceiling: a firm is an SME if staff is below the first OR revenue
    /// below the second; otherwise it is large. `None` revenue: staff only.
    pub ceiling: (u32, Option<u64>),
}

/// One version of the standard.
#[derive(Debug, Clone, Copy)]
pub struct SizeStandard {
    pub id: &'static str,
    pub effective_from: (i32, u32, u32),
    pub sectors: &'static [SectorThresholds],
}

/// 工信部联企业〔2011〕300号, in force from 2011-06-18.
#[rustfmt::skip]
pub const MIIT_2011_300: SizeStandard = SizeStandard {
    id: "工信部联企业〔2011〕300号",
    effective_from: (2011, 6, 18),
    sectors: &[
        SectorThresholds { sector: Sector::Industry, medium: (300, 2000), small: (20, 300), ceiling: (1000, Some(40000)) },
        SectorThresholds { sector: Sector::SoftwareIt, medium: (100, 1000), small: (10, 50), ceiling: (300, Some(10000)) },
        SectorThresholds { sector: Sector::Wholesale, medium: (20, 5000), small: (5, 1000), ceiling: (200, Some(40000)) },
        SectorThresholds { sector: Sector::Retail, medium: (50, 500), small: (10, 100), ceiling: (300, Some(20000)) },
        SectorThresholds { sector: Sector::Transport, medium: (300, 3000), small: (20, 200), ceiling: (1000, Some(30000)) },
        SectorThresholds { sector: Sector::Warehousing, medium: (100, 1000), small: (20, 100), ceiling: (200, Some(30000)) },
        SectorThresholds { sector: Sector::Other, medium: (100, 0), small: (10, 0), ceiling: (300, None) },
    ],
};

/// Every version, oldest first. A revision is appended here with its date.
pub const STANDARDS: &[SizeStandard] = &[MIIT_2011_300];

/// Fen in one 万元.
const FEN_PER_WAN: i64 = 1_000_000;

impl SizeStandard {
    /// The version in force on `date` (the latest whose effective date is
    /// not after it), or `None` before the first.
    pub fn in_force_on(date: NaiveDate) -> Option<&'static SizeStandard> {
        STANDARDS.iter().rev().find(|standard| {
            let (y, m, d) = standard.effective_from;
            NaiveDate::from_ymd_opt(y, m, d).is_some_and(|from| from <= date)
        })
    }

    /// The size class of a firm with `staff` employees and `revenue`
    /// operating revenue in `sector`.
    pub fn classify(&self, sector: Sector, staff: u32, revenue: Fen) -> SizeClass {
        let thresholds = self
            .sectors
            .iter()
            .find(|t| t.sector == sector)
            .or_else(|| self.sectors.iter().find(|t| t.sector == Sector::Other))
            .expect("every standard has an Other row");
        let revenue_at_least =
            |wan: u64| revenue.as_fen() >= (wan as i64).saturating_mul(FEN_PER_WAN);
        let is_sme = match thresholds.ceiling {
            (staff_max, Some(revenue_max)) => staff < staff_max || !revenue_at_least(revenue_max),
            (staff_max, None) => staff < staff_max,
        };
        if !is_sme {
            return SizeClass::Large;
        }
        let reaches = |(staff_min, revenue_min): (u32, u64)| {
            staff >= staff_min && revenue_at_least(revenue_min)
        };
        if reaches(thresholds.medium) {
            SizeClass::Medium
        } else if reaches(thresholds.small) {
            SizeClass::Small
        } else {
            SizeClass::Micro
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wan(n: i64) -> Fen {
        Fen::new(n * FEN_PER_WAN)
    }

    fn classify(sector: Sector, staff: u32, revenue: Fen) -> SizeClass {
        MIIT_2011_300.classify(sector, staff, revenue)
    }

    /// At every threshold of every revenue sector: exactly at the threshold
    /// is the higher class, one below (staff or one fen of revenue) is lower.
    #[test]
    fn every_threshold_edge_of_every_sector() {
        for t in MIIT_2011_300
            .sectors
            .iter()
            .filter(|t| t.ceiling.1.is_some())
        {
            let s = t.sector;
            let (ms, mr) = (t.medium.0, t.medium.1 as i64);
            let (ss, sr) = (t.small.0, t.small.1 as i64);
            let one_fen = Fen::new(1);
            // Medium needs both figures.
            assert_eq!(
                classify(s, ms, wan(mr)),
                SizeClass::Medium,
                "{s:?} medium edge"
            );
            assert_eq!(
                classify(s, ms - 1, wan(mr)),
                SizeClass::Small,
                "{s:?} staff below medium"
            );
            let just_below_medium = wan(mr).checked_sub(one_fen).unwrap();
            assert_eq!(
                classify(s, ms, just_below_medium),
                SizeClass::Small,
                "{s:?} revenue below medium"
            );
            // Small needs both figures; below either is micro.
            assert_eq!(
                classify(s, ss, wan(sr)),
                SizeClass::Small,
                "{s:?} small edge"
            );
            assert_eq!(
                classify(s, ss - 1, wan(sr)),
                SizeClass::Micro,
                "{s:?} staff below small"
            );
            let just_below_small = wan(sr).checked_sub(one_fen).unwrap();
            assert_eq!(
                classify(s, ss, just_below_small),
                SizeClass::Micro,
                "{s:?} revenue below small"
            );
            assert_eq!(
                classify(s, ss - 1, wan(mr * 100)),
                SizeClass::Micro,
                "{s:?} few staff, big revenue"
            );
            // The SME ceiling: large only when both reach it.
            let (cs, cr) = (t.ceiling.0, t.ceiling.1.unwrap() as i64);
            assert_eq!(
                classify(s, cs, wan(cr)),
                SizeClass::Large,
                "{s:?} large edge"
            );
            assert_eq!(
                classify(s, cs - 1, wan(cr)),
                SizeClass::Medium,
                "{s:?} staff below ceiling"
            );
            let just_below_ceiling = wan(cr).checked_sub(one_fen).unwrap();
            assert_eq!(
                classify(s, cs, just_below_ceiling),
                SizeClass::Medium,
                "{s:?} revenue below ceiling"
            );
        }
    }

    #[test]
    fn other_sectors_use_staff_only() {
        assert_eq!(classify(Sector::Other, 9, wan(1_000_000)), SizeClass::Micro);
        assert_eq!(classify(Sector::Other, 10, Fen::ZERO), SizeClass::Small);
        assert_eq!(classify(Sector::Other, 99, Fen::ZERO), SizeClass::Small);
        assert_eq!(classify(Sector::Other, 100, Fen::ZERO), SizeClass::Medium);
        assert_eq!(classify(Sector::Other, 299, Fen::ZERO), SizeClass::Medium);
        assert_eq!(classify(Sector::Other, 300, Fen::ZERO), SizeClass::Large);
    }

    #[test]
    fn the_standard_in_force_depends_on_the_date() {
        let before = NaiveDate::from_ymd_opt(2011, 6, 17).unwrap();
        let on = NaiveDate::from_ymd_opt(2011, 6, 18).unwrap();
        assert!(SizeStandard::in_force_on(before).is_none());
        assert_eq!(SizeStandard::in_force_on(on).unwrap().id, MIIT_2011_300.id);
    }

    #[test]
    fn sectors_parse_from_codes_and_chinese_names() {
        for sector in Sector::ALL {
            assert_eq!(Sector::parse(sector.as_str()), Some(sector));
            assert_eq!(Sector::parse(sector.name_zh()), Some(sector));
        }
        assert_eq!(Sector::parse("农业"), None);
    }
}
