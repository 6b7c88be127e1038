import { LightningElement, api } from 'lwc';
import getConfigNotification from '@salesforce/apex/QBConnectionController.getConfigNotification';
import { LIVE, liveMessage, watchNotification } from 'c/saveModel';

/**
 * The docked Save/Cancel bar of a pane: says when the pane has unsaved changes,
 * fires `save` and `cancel`; after the pane calls `saved()`, says whether the
 * change is live in the sync middleware, read back from the company's
 * notification outcome (fires `livestatus`, detail { state, notification }).
 */
export default class QbSaveBar extends LightningElement {
    @api companyId;
    @api dirty = false;
    @api saving = false;
    @api saveDisabled = false;
    @api saveLabel = 'Save';
    // A form is open (Object Mapping): Cancel closes it even without edits.
    @api open = false;
    state;
    notification;
    before;
    stopWatching;

    disconnectedCallback() {
        this.stopWatching?.();
    }

    get visible() {
        return this.open || this.dirty || this.saving || Boolean(this.state);
    }

    get unsavedText() {
        return this.dirty ? 'Unsaved changes' : undefined;
    }

    get statusText() {
        return this.state && !this.dirty && !this.open
            ? liveMessage(this.state, this.notification)
            : undefined;
    }

    get statusClass() {
        const tone = {
            [LIVE.LIVE]: 'slds-text-color_success',
            [LIVE.FAILED]: 'slds-text-color_error'
        };
        return `slds-text-body_regular ${tone[this.state] || ''}`;
    }

    get cancelDisabled() {
        return this.saving || !(this.dirty || this.open);
    }

    get saveButtonDisabled() {
        return this.saving || !this.dirty || this.saveDisabled;
    }

    /** The outcome before the save: a later change of it is this save's. */
    async handleSave() {
        this.stopWatching?.();
        this.state = undefined;
        // Unreadable before: any outcome that arrives then is taken as this save's.
        this.before = await this.read().catch(() => undefined);
        this.dispatchEvent(new CustomEvent('save'));
    }

    handleCancel() {
        this.dispatchEvent(new CustomEvent('cancel'));
    }

    read() {
        return getConfigNotification({ companyId: this.companyId });
    }

    /** The pane saved: watch for the middleware's outcome. */
    @api
    saved() {
        this.stopWatching?.();
        this.state = LIVE.WAITING;
        this.stopWatching = watchNotification(
            () => this.read(),
            this.before,
            (state, notification) => this.settle(state, notification)
        );
    }

    /** Forget the last save's outcome (the pane was reloaded or left). */
    @api
    reset() {
        this.stopWatching?.();
        this.state = undefined;
    }

    settle(state, notification) {
        this.state = state;
        this.notification = notification;
        this.dispatchEvent(
            new CustomEvent('livestatus', {
                detail: { state, notification }
            })
        );
    }
}
