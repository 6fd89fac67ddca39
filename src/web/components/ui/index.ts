export { Button, buttonClasses, type ButtonProps, type ButtonSize, type ButtonVariant } from './Button';
export { Card, CardDescription, CardTitle, type CardProps } from './Card';
export { Dialog, type DialogProps } from './Dialog';
export { EmptyState, type EmptyStateProps } from './EmptyState';
export { Input, type InputProps } from './Input';
export { Spinner } from './Spinner';
export { ToastProvider, useToast, type ToastOptions, type ToastTone } from './Toast';
