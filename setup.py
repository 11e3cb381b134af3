"""predictive-info: the predictive information plane of recurrent networks (Dong, Oktay, Poole, Alemi)."""
from setuptools import find_packages, setup

setup(
    name="predictive-info",
    version="0.1.0",
    description="Measure how efficiently sequence models compress their past while predicting the future.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires="==3.11.*",
    packages=find_packages(include=["predictive_info*", "bho*", "estimators*", "sketch_rnn_ext*"]),
    package_data={"sketch_rnn_ext": ["data/*", "data/**/*"]},
    include_package_data=True,
    install_requires=[
        "tensorflow==2.21.*",
        "tensorflow-probability==0.25.*",
        "tf-keras==2.21.*",  # tensorflow_probability.distributions imports only with it installed
        "keras>=3.12,<4",
        "numpy>=1.26,<3",
        "scipy>=1.11,<2",
        "matplotlib>=3.8,<4",
        "tqdm>=4.66,<5",
        "tensorboard==2.21.*",  # tf.summary needs it; TensorFlow 2.21 no longer installs it
    ],
    extras_require={"test": ["pytest>=8,<10"]},
    entry_points={"console_scripts": ["predinfo=predictive_info.cli:main"]},
)
