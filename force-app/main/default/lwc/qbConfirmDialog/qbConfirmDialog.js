import { LightningElement, api } from 'lwc';

/**
 * A confirmation in an SLDS modal (role alertdialog): "Leave without saving?" and
 * "Save anyway?". `open(options)` shows it and resolves true (confirmed) or false
 * (cancelled, also by Escape). Focus goes to the safe choice, then back to where
 * it was.
 */
export default class QbConfirmDialog extends LightningElement {
    isOpen = false;
    title;
    message;
    details;
    confirmLabel;
    cancelLabel;
    confirmVariant;
    resolve;
    returnFocusTo;
    focusPending = false;

    /**
     * @param {{title: string, message: string, details?: string[], confirmLabel: string,
     *   cancelLabel: string, confirmVariant?: string}} options
     * @returns {Promise<boolean>} whether the admin confirmed
     */
    @api
    open(options) {
        this.resolve?.(false);
        Object.assign(this, {
            title: options.title,
            message: options.message,
            details: options.details?.length ? options.details : undefined,
            confirmLabel: options.confirmLabel,
            cancelLabel: options.cancelLabel,
            confirmVariant: options.confirmVariant || 'brand'
        });
        this.returnFocusTo = document.activeElement;
        this.isOpen = true;
        this.focusPending = true;
        return new Promise((resolve) => {
            this.resolve = resolve;
        });
    }

    renderedCallback() {
        if (this.isOpen && this.focusPending) {
            this.focusPending = false;
            this.template.querySelector('[data-id="dialog-cancel"]')?.focus();
        }
    }

    close(confirmed) {
        this.isOpen = false;
        const resolve = this.resolve;
        this.resolve = undefined;
        this.returnFocusTo?.focus?.();
        resolve?.(confirmed);
    }

    handleConfirm() {
        this.close(true);
    }

    handleCancel() {
        this.close(false);
    }

    handleKeydown(event) {
        if (event.key === 'Escape') {
            event.stopPropagation();
            this.close(false);
        }
    }
}
