"""The state of a running ``fit``: where it stands, and how it goes to a checkpoint and back.

While it trains, ``fit`` keeps one ``FitRun`` (``model._fit_run``). ``BackupAndRestore`` decides
when and where to save it; this file decides what is saved and how it is put back. What a fit
needs to continue as if it had never stopped, and where each part comes from:

    the weights, the optimizer            their state_dict() (the optimizer's: slots, step count,
                                          learning rate)
    where the fit stands                  the epoch, and the batches done in it: a checkpoint
                                          saved after batch b of epoch e continues at batch b + 1
    the order of the data                 the model's data seed: epoch e's order is derived from
                                          (seed, e), so it is recomputed, never replayed
    the epoch's running loss and metrics  their state, so that a resumed epoch logs the values
                                          the uninterrupted one would have
    the callbacks                         the state_dict() of each one that has one (History,
                                          EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, ...)
    the random numbers still to come      gradkit's global generator (dropout masks)
    a DataLoader passed to fit            its state_dict() (its own position)

One file, written by ``gradkit.io.save_checkpoint``: atomic (a crash while saving leaves the
previous file) and checksummed (a damaged file names itself on load). A fit is saved only
between two updates: with gradient accumulation, not while gradients wait for their update.
"""
import os

from ..io import load_checkpoint, save_checkpoint

__all__ = ["FitRun"]


class FitRun:
    """One ``fit`` call in progress: its callbacks and data, and the position the loop updates.

    ``epoch``: the epoch running (or to run first); ``step``: the batches done in it;
    ``pending``: batches whose summed gradients wait for the next update; ``epoch_done``: the
    epoch's batches and validation are over (its ``on_epoch_end`` is running)."""

    def __init__(self, model, callbacks, train, epochs, initial_epoch):
        self.model, self.callbacks, self.train, self.epochs = model, callbacks, train, epochs
        self.epoch, self.step, self.pending, self.epoch_done = initial_epoch, 0, 0, False
        self.running = None   # the running loss/metric states of a resumed epoch's first batches

    @property
    def between_updates(self):
        """True when no gradient waits for an update: a checkpoint may be saved now."""
        return self.pending == 0

    def _shape(self):
        """What the fit that resumes must share with the one that saved, for the saved position
        to mean the same batches."""
        t = self.train
        return {"steps_per_epoch": t.num_batches, "samples": t.num_samples,
                "batch_size": getattr(t, "batch_size", None), "shuffle": bool(t.shuffle)}

    def _stateful_callbacks(self):
        """{key: callback} for each callback with ``state_dict()``, keyed by its class and its
        rank among the callbacks of that class ("EarlyStopping.0"): a resumed fit passes the
        same stateful callbacks (others, such as the one that stopped the run, may differ)."""
        keyed, seen = {}, {}
        for cb in self.callbacks.callbacks:
            if callable(getattr(cb, "state_dict", None)) and \
                    callable(getattr(cb, "load_state_dict", None)):
                name = type(cb).__name__
                keyed[f"{name}.{seen.get(name, 0)}"] = cb
                seen[name] = seen.get(name, 0) + 1
        return keyed

    # === save / load ==========================================================================
    def save(self, path):
        """Write the whole state of the fit to ``path`` (see the module docstring)."""
        if not self.between_updates:
            raise RuntimeError(f"fit: cannot save a checkpoint while {self.pending} batches' "
                               "gradients wait for their update (gradient accumulation); save "
                               "after the update")
        model = self.model
        epoch, step = (self.epoch + 1, 0) if self.epoch_done else (self.epoch, self.step)
        fit = {"shape": self._shape(), "data_seed": model._data_seed,
               "stopped": bool(model.stop_training),
               "running": model._running_state() if step else None}
        save_checkpoint(path, model=model, optimizer=model.optimizer, epoch=epoch, step=step,
                        loader=self.train.saved_loader, callbacks=self._stateful_callbacks(),
                        extra={"fit": fit})

    def load(self, path):
        """Put the fit back where the checkpoint ``path`` left it: weights, optimizer, callbacks,
        data seed, position, running means and gradkit's global generator. Raises ValueError
        when the file is not a fit's checkpoint or was saved by a different fit."""
        path = os.fspath(path)
        model = self.model
        if not model.built:
            raise ValueError(f"the model must be built before fit() to restore {path} into it; "
                             "give its first layer input_shape=, or call it once on a batch")
        saved = load_checkpoint(path, restore_rng=False)  # checked before anything is changed
        fit = (saved.get("extra") or {}).get("fit")
        if not isinstance(fit, dict) or "shape" not in fit:
            raise ValueError(f"{path} is a gradkit checkpoint but not one of a Keras fit (it "
                             "was not written by BackupAndRestore)")
        mine = self._shape()
        diff = [f"{k} {fit['shape'].get(k)} then, {v} now" for k, v in mine.items()
                if fit["shape"].get(k) != v]
        if diff:
            raise ValueError(f"{path} was saved by a fit on other data ({'; '.join(diff)}): "
                             "the saved position would not mean the same batches")
        if not model.optimizer.variables:  # its slots must exist to take the saved ones
            model.optimizer.build(model.trainable_weights)
        state = load_checkpoint(path, model=model, optimizer=model.optimizer,
                                loader=self.train.saved_loader,
                                callbacks=self._stateful_callbacks(), restore_rng=True)
        model._data_seed = int(fit["data_seed"])
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self.running = fit["running"]
        if fit["stopped"]:  # a callback had stopped it: nothing is left to train
            self.epoch = max(self.epoch, self.epochs)
        return self.epoch, self.step
