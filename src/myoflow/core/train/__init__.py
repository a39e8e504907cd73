"""The one trainer of the project: a base class whose hooks a method overrides.

``trainer`` holds the class and its epoch loop, ``optim`` the optimisers and learning-rate
schedules chosen by name, ``checkpoint`` the files a run leaves (and reads back on resume),
``supervision`` the weighted loss over several output scales, ``device`` the device and the
speed-ups (memory layout, ``torch.compile``) decided for it.
"""
