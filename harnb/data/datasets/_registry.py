"""What harnb knows about each dataset: provenance, terms, archive names, and the paper's Table I.

One frozen record per dataset, so the book's dataset chapter, the fetcher and the loaders all
read the same facts (citation, licence, where to get the files, what the paper printed).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Table1Row:
    """One row of the paper's Table I, exactly as printed (reference §7.2)."""

    samples: int
    users: int
    devices: str
    rate: str
    position: str
    activities: str


@dataclass(frozen=True)
class DatasetInfo:
    """Provenance and acquisition facts of one dataset.

    ``mirror_files`` lists the archive names looked for in a mirror folder (first present wins);
    ``downloads`` pairs each original URL with the file name it is saved as; ``nested`` names
    archives *inside* the download that are extracted too (UCI and PAMAP2 ship a zip in a zip).
    ``known_archives`` maps an archive name to the ``(size, sha256)`` pairs known to be good;
    an archive whose size matches a known entry must also match its sha256.
    """

    name: str
    full_name: str
    citation: str
    url: str
    terms: str
    obtain: str
    mirror_files: tuple[str, ...]
    devices: tuple[str, ...]
    positions: tuple[str, ...]
    nominal_rate: float | dict[str, float]
    #: The paper's Table I row; None for a dataset the paper did not use (HuGaDB).
    paper_table1: Table1Row | None
    downloads: tuple[tuple[str, str], ...] = ()
    nested: tuple[str, ...] = ()
    extra_files: tuple[str, ...] = ()
    known_archives: dict[str, tuple[tuple[int, str], ...]] = field(default_factory=dict)
    notes: str = ""


_UCI_HAPT = (
    "https://archive.ics.uci.edu/static/public/341/"
    "smartphone+based+recognition+of+human+activities+and+postural+transitions.zip"
)
_UCI_V1 = (
    "https://archive.ics.uci.edu/static/public/240/human+activity+recognition+using+smartphones.zip"
)

REGISTRY: dict[str, DatasetInfo] = {
    "HHAR": DatasetInfo(
        name="HHAR",
        full_name="Heterogeneity Human Activity Recognition (HHAR)",
        citation=(
            "A. Stisen, H. Blunck, S. Bhattacharya, T. S. Prentow, M. B. Kjærgaard, A. Dey, "
            "T. Sonne, M. M. Jensen. Smart Devices are Different: Assessing and Mitigating Mobile "
            "Sensing Heterogeneities for Activity Recognition. ACM SenSys 2015."
        ),
        url="https://archive.ics.uci.edu/static/public/344/heterogeneity+activity+recognition.zip",
        terms="CC BY 4.0 (UCI Machine Learning Repository); cite Stisen et al. 2015.",
        obtain="by public download from the UCI Machine Learning Repository (dataset 344)",
        mirror_files=("Activity recognition exp.zip", "heterogeneity+activity+recognition.zip"),
        devices=("LG Nexus 4", "Samsung Galaxy S3", "Samsung Galaxy S3 mini", "Samsung Galaxy S+"),
        positions=("waist pouch",),
        nominal_rate={"nexus4": 200.0, "s3": 150.0, "s3mini": 100.0, "samsungold": 50.0},
        paper_table1=Table1Row(
            85567,
            9,
            "phones: S3 mini, S3, Nexus 4, S+; watches: LG, Gear",
            "50–200 Hz",
            "phones waist; watches wrist",
            "Biking, Sitting, Standing, Walking, Upstairs, Downstairs",
        ),
        downloads=(
            (
                "https://archive.ics.uci.edu/static/public/344/heterogeneity+activity+recognition.zip",
                "heterogeneity+activity+recognition.zip",
            ),
            (
                "http://archive.ics.uci.edu/ml/machine-learning-databases/00344/"
                "Activity%20recognition%20exp.zip",
                "Activity recognition exp.zip",
            ),
        ),
        nested=("Activity recognition exp.zip",),
        notes="Phones only; smartwatch files are ignored, as in the paper.",
    ),
    "MobiAct": DatasetInfo(
        name="MobiAct",
        full_name="MobiAct (with MobiFall v2.0, its predecessor)",
        citation=(
            "G. Vavoulas, C. Chatzaki, T. Malliotakis, M. Pediaditis, M. Tsiknakis. The MobiAct "
            "Dataset: Recognition of Activities of Daily Living using Smartphones. ICT4AWE 2016."
        ),
        url="",
        terms=(
            "Available from its authors on request, for research use; redistribution terms are "
            "unclear, so keep the data out of any public artefact."
        ),
        obtain="by request to its authors (BMI lab, Hellenic Mediterranean University)",
        mirror_files=(
            "mobifall-v2.0-adl-subset.zip",
            "MobiAct_Dataset_v2.0.zip",
            "MobiAct_Dataset.zip",
            "MobiFall_Dataset_v2.0.zip",
        ),
        devices=("Samsung Galaxy S3",),
        positions=("trouser pocket",),
        nominal_rate=87.0,
        paper_table1=Table1Row(
            18634,
            61,
            "Galaxy S3",
            "50–200 Hz",
            "Waist",
            "Standing, Walking, Jogging, Jumping, Upstairs, Downstairs, Sitting, Car step in, "
            "Car step out",
        ),
        known_archives={
            "mobifall-v2.0-adl-subset.zip": (
                (39792932, "33bc898816bb5d12e9707ce30e94c37ae14bc1771f71ded0c802e2298c80f2c5"),
            ),
        },
        notes=(
            "No public URL. The mirror holds only MobiFall v2.0's daily-activity trials "
            "(9 subjects, no sitting or lying)."
        ),
    ),
    "MotionSense": DatasetInfo(
        name="MotionSense",
        full_name="MotionSense (DeviceMotion data)",
        citation=(
            "M. Malekzadeh, R. G. Clegg, A. Cavallaro, H. Haddadi. Mobile Sensor Data "
            "Anonymization. ACM/IEEE IoTDI 2019 (MotionSense dataset)."
        ),
        url=("https://github.com/mmalekzadeh/motion-sense/raw/master/data/A_DeviceMotion_data.zip"),
        terms="MIT licence (upstream repository); cite Malekzadeh et al.",
        obtain="by public download from the MotionSense GitHub repository",
        mirror_files=("A_DeviceMotion_data.zip",),
        devices=("iPhone 6s",),
        positions=("front pocket",),
        nominal_rate=50.0,
        paper_table1=Table1Row(
            17231,
            24,
            "iPhone 6s",
            "50 Hz",
            "Waist",
            "Downstairs, Upstairs, Sitting, Standing, Walking, Running",
        ),
        downloads=(
            (
                "https://github.com/mmalekzadeh/motion-sense/raw/master/data/A_DeviceMotion_data.zip",
                "A_DeviceMotion_data.zip",
            ),
            (
                "https://github.com/mmalekzadeh/motion-sense/raw/master/data/"
                "data_subjects_info.csv",
                "motionsense_data_subjects_info.csv",
            ),
        ),
        extra_files=("motionsense_data_subjects_info.csv", "data_subjects_info.csv"),
        known_archives={
            # the offline mirror's re-pack of the GitHub file (same members, other zip bytes)
            "A_DeviceMotion_data.zip": (
                (71847267, "a636ef4604d245e2de9bbe005d6b88be9d4b1fcf8305ecfcf13867a5224078e7"),
            ),
        },
    ),
    "RealWorld": DatasetInfo(
        name="RealWorld",
        full_name="RealWorld (HAR) 2016",
        citation=(
            "T. Sztyler, H. Stuckenschmidt. On-body Localization of Wearable Devices: An "
            "Investigation of Position-Aware Activity Recognition. IEEE PerCom 2016."
        ),
        url="http://wifo5-14.informatik.uni-mannheim.de/sensor/dataset/realworld2016/"
        "realworld2016_dataset.zip",
        terms="Free for research use; cite Sztyler & Stuckenschmidt 2016.",
        obtain="by public download from the University of Mannheim",
        mirror_files=("realworld2016_dataset.zip",),
        devices=("Samsung Galaxy S4",),
        positions=("chest", "forearm", "head", "shin", "thigh", "upperarm", "waist"),
        nominal_rate=50.0,
        paper_table1=Table1Row(
            356427,
            15,
            "Galaxy S4, LG G Watch R",
            "50 Hz",
            "head, chest, upper arm, waist, thigh, shin; watch: forearm",
            "Downstairs, Upstairs, Lying, Sitting, Standing, Jumping, Walking, Running",
        ),
        downloads=(
            (
                "http://wifo5-14.informatik.uni-mannheim.de/sensor/dataset/realworld2016/"
                "realworld2016_dataset.zip",
                "realworld2016_dataset.zip",
            ),
        ),
    ),
    "UCI": DatasetInfo(
        name="UCI",
        full_name=(
            "UCI HAR (Human Activity Recognition Using Smartphones), read from its raw update "
            "HAPT v2.1 (Smartphone-Based Recognition of Human Activities and Postural Transitions) "
            "or from the v1 windows"
        ),
        citation=(
            "D. Anguita, A. Ghio, L. Oneto, X. Parra, J. L. Reyes-Ortiz. A Public Domain Dataset "
            "for Human Activity Recognition Using Smartphones. ESANN 2013; J.-L. Reyes-Ortiz, "
            "L. Oneto, A. Samà, X. Parra, D. Anguita. Transition-Aware Human Activity Recognition "
            "Using Smartphones. Neurocomputing 2016 (HAPT)."
        ),
        url=_UCI_HAPT,
        terms=(
            "Free for research with citation of Anguita et al.; the UCI HAR v1 README forbids "
            "commercial use. UCI lists the datasets under CC BY 4.0."
        ),
        obtain="by public download from the UCI Machine Learning Repository (datasets 341 or 240)",
        mirror_files=(
            "uci-hapt-v2.1.zip",
            "smartphone+based+recognition+of+human+activities+and+postural+transitions.zip",
            "HAPT Data Set.zip",
            "UCI HAR Dataset.zip",
            "human+activity+recognition+using+smartphones.zip",
        ),
        devices=("Samsung Galaxy S II",),
        positions=("waist",),
        nominal_rate=50.0,
        paper_table1=Table1Row(
            10299,
            30,
            "Galaxy S II",
            "50 Hz",
            "Waist",
            "Walking, Upstairs, Downstairs, Sitting, Standing, Lying",
        ),
        downloads=(
            (
                _UCI_HAPT,
                "smartphone+based+recognition+of+human+activities+and+postural+transitions.zip",
            ),
            (_UCI_V1, "human+activity+recognition+using+smartphones.zip"),
        ),
        nested=("UCI HAR Dataset.zip",),
        known_archives={
            "uci-hapt-v2.1.zip": (
                (27569967, "843a1c3d3b714676ebc62d2b416eefbde88ffe581761614e9144d6870dc9a01d"),
            ),
        },
    ),
    "PAMAP2": DatasetInfo(
        name="PAMAP2",
        full_name="PAMAP2 Physical Activity Monitoring",
        citation=(
            "A. Reiss, D. Stricker. Introducing a New Benchmarked Dataset for Activity Monitoring. "
            "ISWC 2012."
        ),
        url="https://archive.ics.uci.edu/static/public/231/pamap2+physical+activity+monitoring.zip",
        terms="CC BY 4.0 (UCI Machine Learning Repository); cite Reiss & Stricker 2012.",
        obtain="by public download from the UCI Machine Learning Repository (dataset 231)",
        mirror_files=("pamap2+physical+activity+monitoring.zip", "PAMAP2_Dataset.zip"),
        devices=("Colibri wireless IMU (Trivisio)",),
        positions=("chest", "ankle", "hand"),
        nominal_rate=100.0,
        paper_table1=Table1Row(
            15177,
            8,
            "Colibri IMUs",
            "100 Hz",
            "Waist, Chest, Wrist (sic)",
            "Rope jumping, Lying, Sitting, Standing, Walking, Running, Cycling, Nordic walking, "
            "Upstairs, Downstairs, Vacuum cleaning, Ironing",
        ),
        downloads=(
            (
                "https://archive.ics.uci.edu/static/public/231/"
                "pamap2+physical+activity+monitoring.zip",
                "pamap2+physical+activity+monitoring.zip",
            ),
        ),
        nested=("PAMAP2_Dataset.zip",),
    ),
    "HuGaDB": DatasetInfo(
        name="HuGaDB",
        full_name="HuGaDB v1, Human Gait Database (six leg IMUs; the right thigh by default)",
        citation=(
            "R. Chereshnev, A. Kertész-Farkas. HuGaDB: Human Gait Database for Activity "
            "Recognition from Wearable Inertial Sensor Networks. AIST 2017, LNCS 10716, "
            "Springer 2018, pp. 131–141."
        ),
        url="https://github.com/romanchereshnev/HuGaDB",
        terms=(
            "No licence file; the authors ask for a citation of Chereshnev & Kertész-Farkas "
            "2017."
        ),
        obtain=(
            "from the authors' GitHub repository (HumanGaitDataBase.zip, stored with Git LFS) or "
            "their Dropbox and Google Drive links; the loader also needs the repository's "
            "README.md (its table of corrupted gyroscope files)"
        ),
        mirror_files=("hugadb-v1-subset.zip", "HumanGaitDataBase.zip", "HuGaDB.zip"),
        devices=("HuGaDB leg IMU (int16, ±2 g, ±2000 °/s)",),
        positions=(
            "right thigh", "left thigh", "right shin", "left shin", "right foot", "left foot",
        ),  # fmt: skip
        nominal_rate=2_111_962 / 35_903,  # the authors' Table 1: samples / seconds, ~58.82 Hz
        paper_table1=None,
        known_archives={
            "hugadb-v1-subset.zip": (
                (56326362, "6f437736e56752a59a88e8166d32a1680d3c01149ab7d50c90015d64a24663dc"),
            ),
        },
        notes=(
            "Not in the paper. The mirror holds 9 of its 18 subjects (02, 03, 05, 08, 09, 10, "
            "11, 12, 18), whole files; tables call it 'HuGaDB (9 subj.)'."
        ),
    ),
}
